/*  ih_con_share.c: the share form (see ih_con_share.h).

    A draft is a JSON object built from the alert being revised (GET ?revise=ID) or from
    the form (POST); the form is always rendered from a draft, so every step shows again
    exactly what was typed. Indicators to review are "candidates": each is a row with a
    hidden field cand=ENC and a checkbox ioc=ENC (ticked: it is sent), ENC being
    "type<TAB>value<TAB>comment<TAB>detect".
*/
#include <ctype.h>
#include <czmq.h>

#include "ih_con_more.h"
#include "ih_con_share.h"
#include "ih_con_suggest.h"
#include "ih_extract.h"
#include "ih_html.h"
#include "ih_ioc.h"
#include "ih_json.h"

#define s_MAX_CANDS     IH_MAX_IOCS

/* ---- drafts ------------------------------------------------------------------------------- */

static const char *
s_get (json_t *d, const char *key)
{
    const char *v = json_string_value (json_object_get (d, key));
    return v ? v : "";
}

static void
s_set (json_t *d, const char *key, const char *value)
{
    json_object_set_new (d, key, json_string (value ? value : ""));
}

/*  A candidate's encoding (the cand and ioc fields' value). */
static void
s_enc (ih_buf_t *out, const char *type, const char *value, const char *comment, bool detect)
{
    ih_buf_reset (out);
    ih_buf_printf (out, "%s\t%s\t", type, value);
    for (const char *p = comment; *p; p++)
        ih_buf_append (out, *p == '\t' || *p == '\n' || *p == '\r' ? " " : p, 1);
    ih_buf_printf (out, "\t%d", detect ? 1 : 0);
    ih_buf_append (out, "", 1);
    out->len--;
}

static bool
s_has_cand (json_t *cands, const char *type, const char *value)
{
    size_t i;
    json_t *c;
    json_array_foreach (cands, i, c)
        if (streq (s_get (c, "type"), type) && streq (s_get (c, "value"), value))
            return true;
    return false;
}

static void
s_add_cand (json_t *cands, const char *type, const char *value, const char *comment, bool detect, bool on)
{
    if (json_array_size (cands) >= s_MAX_CANDS || s_has_cand (cands, type, value))
        return;
    json_array_append_new (cands, json_pack ("{s:s, s:s, s:s, s:b, s:b}", "type", type, "value", value,
                                             "comment", comment ? comment : "", "detect", detect, "on", on));
}

typedef struct {
    json_t *d;
    json_t *ticked;             /* the ioc fields, as a set */
} s_collect_t;

static int
s_collect_rcpt (const char *v, void *arg)
{
    json_array_append_new (json_object_get ((json_t *) arg, "rcpt"), json_string (v));
    return 0;
}

static int
s_collect_sector (const char *v, void *arg)
{
    json_array_append_new (json_object_get ((json_t *) arg, "sectors"), json_string (v));
    return 0;
}

static int
s_collect_ticked (const char *v, void *arg)
{
    json_object_set_new ((json_t *) arg, v, json_true ());     //  not UTF-8: not ticked
    return 0;
}

static int
s_collect_cand (const char *v, void *arg)
{
    s_collect_t *c = (s_collect_t *) arg;
    //  type \t value \t comment \t detect
    const char *f [4];
    size_t len [4];
    const char *p = v;
    for (int i = 0; i < 4; i++) {
        f [i] = p;
        const char *e = i < 3 ? strchr (p, '\t') : p + strlen (p);
        if (!e)
            return 0;           //  not one of ours: dropped
        len [i] = (size_t) (e - p);
        p = e + (i < 3);
    }
    char type [24], value [IH_MAX_IOC_VALUE + 1], comment [IH_MAX_IOC_COMMENT + 1];
    if (len [0] >= sizeof type || len [1] >= sizeof value || len [2] >= sizeof comment)
        return 0;
    snprintf (type, sizeof type, "%.*s", (int) len [0], f [0]);
    snprintf (value, sizeof value, "%.*s", (int) len [1], f [1]);
    snprintf (comment, sizeof comment, "%.*s", (int) len [2], f [2]);
    //  Ticked when the same encoding came as an ioc field.
    bool on = json_object_get (c->ticked, v) != NULL;
    s_add_cand (json_object_get (c->d, "cands"), type, value, comment, f [3][0] == '1', on);
    return 0;
}

static json_t *
s_draft_new (void)
{
    json_t *d = json_object ();
    json_object_set_new (d, "rcpt", json_array ());
    json_object_set_new (d, "sectors", json_array ());
    json_object_set_new (d, "cands", json_array ());
    json_object_set_new (d, "skipped", json_array ());
    return d;
}

static json_t *
s_draft_from_form (ih_con_req_t *x)
{
    json_t *d = s_draft_new ();
    static const char *const keys [] = { "id", "title", "summary", "tlp", "severity", "category",
        "rcpt_other", "sector_other", "tags", "refs", "event_date", "event_time", "event_place", "event_link",
        "paste", "manual", NULL };
    for (int i = 0; keys [i]; i++)
        s_set (d, keys [i], ih_con_val (x, keys [i]));
    ih_req_form_all (x->r, "rcpt", s_collect_rcpt, d);
    ih_req_form_all (x->r, "sector", s_collect_sector, d);
    s_collect_t c = { d, json_object () };
    ih_req_form_all (x->r, "ioc", s_collect_ticked, c.ticked);
    ih_req_form_all (x->r, "cand", s_collect_cand, &c);
    json_decref (c.ticked);
    ih_con_suggest_from_form (x, d);
    return d;
}

static json_t *
s_draft_from_alert (const ih_msg_t *m)
{
    json_t *d = s_draft_new ();
    s_set (d, "id", m->id);
    s_set (d, "title", m->title);
    s_set (d, "summary", m->summary);
    s_set (d, "tlp", ih_tlp_name (m->tlp));
    s_set (d, "severity", ih_severity_name (m->severity));
    s_set (d, "category", ih_category_name (m->category));
    for (uint32_t i = 0; i < m->recipients.count; i++)
        json_array_append_new (json_object_get (d, "rcpt"), json_string (m->recipients.items [i]));
    for (uint32_t i = 0; i < m->sectors.count; i++)
        json_array_append_new (json_object_get (d, "sectors"), json_string (m->sectors.items [i]));
    //  An event's date, place and link are its first date: and place: tags and its first
    //  reference (ih_msg_event); they go back into their own fields.
    ih_event_t ev;
    bool event = ih_msg_event (m, &ev, NULL) == 1;
    if (event) {
        char iso [IH_TIME_MAX];
        ih_time_format (ev.when, iso);          //  2027-01-14T09:00:00.000Z
        char date [16], time [8];
        snprintf (date, sizeof date, "%.10s", iso);
        snprintf (time, sizeof time, "%.5s", iso + 11);
        s_set (d, "event_date", date);
        s_set (d, "event_time", ev.all_day ? "" : time);
        s_set (d, "event_place", ev.place);
    }
    bool date_seen = false, place_seen = false;
    ih_buf_t tags, refs;
    ih_buf_init (&tags);
    ih_buf_init (&refs);
    for (uint32_t i = 0; i < m->tags.count; i++) {
        const char *t = m->tags.items [i];
        if (event && !date_seen && strncmp (t, "date:", 5) == 0)
            date_seen = true;
        else
        if (event && !place_seen && strncmp (t, "place:", 6) == 0)
            place_seen = true;
        else
            ih_buf_printf (&tags, "%s%s", tags.len ? ", " : "", t);
    }
    for (uint32_t i = 0; i < m->references.count; i++)
        if (event && i == 0)
            s_set (d, "event_link", m->references.items [0]);
        else
            ih_buf_printf (&refs, "%s\n", m->references.items [i]);
    ih_buf_append (&tags, "", 1);
    ih_buf_append (&refs, "", 1);
    s_set (d, "tags", (const char *) tags.data);
    s_set (d, "refs", (const char *) refs.data);
    ih_buf_free (&tags);
    ih_buf_free (&refs);
    json_t *cands = json_object_get (d, "cands");
    for (uint32_t i = 0; i < m->ioc_count; i++)
        s_add_cand (cands, ih_ioc_type_name (m->iocs [i].type), m->iocs [i].value, m->iocs [i].comment,
                    m->iocs [i].detect, true);
    //  A revision's fields are the publisher's choices: no automatic value.
    json_object_set_new (d, "auto", json_pack ("{s:b, s:b}", "category", 0, "severity", 0));
    json_object_set_new (d, "secc", json_array ());
    json_object_set_new (d, "tagc", json_array ());
    return d;
}

/* ---- indicators typed or pasted ------------------------------------------------------------------ */

/*  One typed line, "[type] value [# comment]", as a candidate. Returns 0, 1 for a blank
    line, or -1 with err. */
static int
s_manual_line (json_t *cands, const char *line, size_t len, ih_err_t *err)
{
    char buf [IH_MAX_IOC_VALUE * 2 + 64];
    while (len && isspace ((unsigned char) *line))
        line++, len--;
    while (len && isspace ((unsigned char) line [len - 1]))
        len--;
    if (len == 0 || *line == '#')
        return 1;
    if (len >= sizeof buf)
        return ih_err_set (err, "'%.40s…': too long", line);
    memcpy (buf, line, len);
    buf [len] = 0;
    const char *comment = "";
    char *hash = strstr (buf, " #");
    if (hash) {
        *hash = 0;
        comment = hash + 2;
        while (*comment == ' ')
            comment++;
        size_t n = strlen (buf);
        while (n && buf [n - 1] == ' ')
            buf [--n] = 0;
    }
    char *value = buf;
    ih_ioc_type_t t;
    bool typed = false;
    char *sp = strpbrk (buf, " \t");
    if (sp) {
        *sp = 0;
        if (ih_ioc_type_parse (buf, &t) == 0) {
            typed = true;
            value = sp + 1;
            while (*value == ' ' || *value == '\t')
                value++;
        }
        else
            *sp = ' ';
    }
    char refanged [IH_MAX_IOC_VALUE * 2 + 64], norm [IH_MAX_IOC_VALUE + 1];
    if (ih_ioc_refang (value, refanged, sizeof refanged) < 0)
        return ih_err_set (err, "'%.60s': cannot read it", value);
    if (!typed && ih_ioc_guess (refanged, &t) != 0)
        return ih_err_set (err, "'%.60s': not an indicator this hub knows (write its type first)", value);
    ih_err_t why = { "" };
    if (ih_ioc_normalise (t, refanged, norm, sizeof norm, &why) != 0)
        return ih_err_set (err, "%s", why.msg);
    s_add_cand (cands, ih_ioc_type_name (t), norm, comment, true, true);
    return 0;
}

/*  Moves the typed lines into the candidates; the lines that fail stay, with the first
    error in *error (a static-per-thread message). Returns how many failed. */
static int
s_manual (json_t *d, const char **error)
{
    static __thread char msg [400];
    const char *text = s_get (d, "manual");
    json_t *cands = json_object_get (d, "cands");
    ih_buf_t left;
    ih_buf_init (&left);
    int bad = 0, lineno = 0;
    for (const char *p = text; *p; ) {
        const char *e = strchr (p, '\n');
        size_t n = e ? (size_t) (e - p) : strlen (p);
        lineno++;
        ih_err_t err = { "" };
        if (s_manual_line (cands, p, n, &err) < 0) {
            if (bad++ == 0) {
                snprintf (msg, sizeof msg, "Indicators, line %d: %s", lineno, err.msg);
                *error = msg;
            }
            ih_buf_append (&left, p, n);
            ih_buf_append (&left, "\n", 1);
        }
        p += n + (e ? 1 : 0);
    }
    ih_buf_append (&left, "", 1);
    s_set (d, "manual", (const char *) left.data);
    ih_buf_free (&left);
    return bad;
}

typedef struct {
    json_t *d;
    const ih_warninglist_t *wl;
    ih_buf_t refs;
    int iocs, refs_added, skipped, listed, techniques;
} s_extract_t;

static int
s_extract_hit (const ih_extract_hit_t *hit, void *arg)
{
    s_extract_t *e = (s_extract_t *) arg;
    if (hit->kind == IH_EXTRACT_IOC) {
        //  A value on a warninglist (the hit names it) is likely benign: shown, unticked.
        json_t *cands = json_object_get (e->d, "cands");
        if (!s_has_cand (cands, ih_ioc_type_name (hit->type), hit->value)) {
            s_add_cand (cands, ih_ioc_type_name (hit->type), hit->value, hit->comment, hit->detect,
                        !hit->warninglist);
            e->iocs++;
            e->listed += hit->warninglist != NULL;
        }
    }
    else
    if (hit->kind == IH_EXTRACT_TECHNIQUE) {
        //  An ATT&CK technique the text names: a tag candidate, ticked.
        ih_con_suggest_technique (e->d, hit->value);
        e->techniques++;
    }
    else
    if (hit->kind == IH_EXTRACT_REFERENCE) {
        if (!strstr (s_get (e->d, "refs"), hit->value) && !strstr ((const char *) e->refs.data, hit->value)) {
            ih_buf_printf (&e->refs, "%s\n", hit->value);
            e->refs_added++;
        }
    }
    else {
        char line [300];
        snprintf (line, sizeof line, "%.120s: %s", hit->value, hit->why ? hit->why : "skipped");
        json_array_append_new (json_object_get (e->d, "skipped"), json_string (line));
        e->skipped++;
    }
    return 0;
}

/* ---- the form ---------------------------------------------------------------------------------- */

static bool
s_in (json_t *list, const char *v)
{
    size_t i;
    json_t *s;
    json_array_foreach (list, i, s)
        if (streq (json_string_value (s) ? json_string_value (s) : "", v))
            return true;
    return false;
}

static void
s_text_row (ih_buf_t *b, const char *name, const char *label, const char *value, const char *attrs,
            const char *hint)
{
    ih_buf_printf (b, "<div class=\"row\"><label for=\"f-%s\">%s</label><div><input type=\"text\" "
                    "id=\"f-%s\" name=\"%s\" %s value=\"", name, label, name, name, attrs);
    ih_html_esc (b, value);
    ih_html_puts (b, "\">");
    if (hint)
        ih_buf_printf (b, "<div class=\"hint\">%s</div>", hint);
    ih_html_puts (b, "</div></div>\n");
}

static void
s_area_row (ih_buf_t *b, const char *name, const char *label, const char *value, int rows, const char *hint)
{
    ih_buf_printf (b, "<div class=\"row\"><label for=\"f-%s\">%s</label><div><textarea id=\"f-%s\" "
                    "name=\"%s\" rows=\"%d\">", name, label, name, name, rows);
    ih_html_esc (b, value);
    ih_html_puts (b, "</textarea>");
    if (hint)
        ih_buf_printf (b, "<div class=\"hint\">%s</div>", hint);
    ih_html_puts (b, "</div></div>\n");
}

static void
s_check (ih_buf_t *b, const char *name, const char *value, const char *label, bool on, const char *extra)
{
    ih_buf_printf (b, "<label><input type=\"checkbox\" name=\"%s\" value=\"", name);
    ih_html_esc (b, value);
    ih_html_puts (b, on ? "\" checked> " : "\"> ");
    ih_html_esc (b, label);
    if (extra && *extra) {
        ih_html_puts (b, " <span class=\"muted\">");
        ih_html_esc (b, extra);
        ih_html_puts (b, "</span>");
    }
    ih_html_puts (b, "</label>");
}

static void
s_cands (ih_con_req_t *x, json_t *d)
{
    ih_buf_t *b = &x->r->body;
    json_t *cands = json_object_get (d, "cands");
    size_t n = json_array_size (cands), on = 0, i;
    json_t *c;
    json_array_foreach (cands, i, c)
        on += json_is_true (json_object_get (c, "on"));
    ih_buf_printf (b, "<div class=\"row\"><label>Indicators</label><div>");
    if (n) {
        ih_buf_printf (b, "<p class=\"small\">%zu of %zu ticked: only ticked rows are sent. Untick what is "
                        "not an indicator.</p><table class=\"dense\"><thead><tr><th>Send</th><th>Type</th>"
                        "<th>Value</th><th>Comment</th><th>Detect</th><th>Warninglist</th></tr></thead><tbody>\n",
                        on, n);
        ih_buf_t enc;
        ih_buf_init (&enc);
        json_array_foreach (cands, i, c) {
            const char *type = s_get (c, "type"), *value = s_get (c, "value"), *comment = s_get (c, "comment");
            bool detect = json_is_true (json_object_get (c, "detect"));
            s_enc (&enc, type, value, comment, detect);
            ih_html_puts (b, "<tr><td><input type=\"hidden\" name=\"cand\" value=\"");
            ih_html_esc (b, (const char *) enc.data);
            ih_html_puts (b, "\"><input type=\"checkbox\" name=\"ioc\" aria-label=\"send\" value=\"");
            ih_html_esc (b, (const char *) enc.data);
            ih_html_puts (b, json_is_true (json_object_get (c, "on")) ? "\" checked></td><td>" : "\"></td><td>");
            ih_html_esc (b, type);
            ih_html_puts (b, "</td><td class=\"value\"><code>");
            ih_html_esc (b, value);
            ih_html_puts (b, "</code></td><td>");
            ih_html_esc (b, comment);
            ih_buf_printf (b, "</td><td>%s</td><td>", detect ? "yes" : "context");
            ih_ioc_type_t t;
            const char *wl = x->con->wl && ih_ioc_type_parse (type, &t) == 0
                           ? ih_warninglist_match (x->con->wl, t, value) : NULL;
            if (wl) {
                ih_html_puts (b, "<span class=\"tag\">");
                ih_html_esc (b, wl);
                ih_html_puts (b, "</span>");
            }
            ih_html_puts (b, "</td></tr>\n");
        }
        ih_buf_free (&enc);
        ih_html_puts (b, "</tbody></table>");
    }
    else
        ih_html_puts (b, "<p class=\"small muted\">None yet: paste an advisory below and extract, or type "
                         "them.</p>");
    json_t *skipped = json_object_get (d, "skipped");
    if (json_array_size (skipped)) {
        ih_buf_printf (b, "<details class=\"small\"><summary>%zu %s skipped</summary><ul>",
                        json_array_size (skipped), ih_plural (json_array_size (skipped), "token", "tokens"));
        json_array_foreach (skipped, i, c) {
            ih_html_puts (b, "<li>");
            ih_html_esc (b, json_string_value (c));
            ih_html_puts (b, "</li>");
        }
        ih_html_puts (b, "</ul></details>");
    }
    ih_html_puts (b, "</div></div>\n");
}

static void
s_form (ih_con_req_t *x, json_t *d, const char *preview)
{
    ih_buf_t *b = &x->r->body;
    const char *id = s_get (d, "id");
    ih_con_begin (x, *id ? "Revise" : "Share", "/share");
    if (*id) {
        ih_html_puts (b, "<h1>Revise an alert</h1><p class=\"lede\">A new revision of <a href=\"/alerts/");
        ih_html_esc (b, id);
        ih_html_puts (b, "\">");
        ih_html_esc (b, id);
        ih_html_puts (b, "</a>: it replaces the alert at every member who holds it. A revision may widen "
                         "who receives it, never narrow it.</p>\n");
    }
    else
        ih_html_puts (b, "<h1>Share</h1><p class=\"lede\">A new alert, signed by this member's agent and "
                         "sent through the broker to the members its TLP allows.</p>\n");
    if (preview)
        ih_buf_append (b, preview, strlen (preview));
    ih_html_puts (b, "<form class=\"form\" method=\"post\" action=\"/share\">");
    ih_con_csrf_field (x);
    ih_html_puts (b, "<input type=\"hidden\" name=\"id\" value=\"");
    ih_html_esc (b, id);
    ih_html_puts (b, "\">\n");
    s_text_row (b, "title", "Title", s_get (d, "title"), "maxlength=\"256\" size=\"80\" autofocus", NULL);
    s_area_row (b, "summary", "Summary", s_get (d, "summary"), 8,
                "Markdown: **bold**, lists, `code`, links. Raw HTML is not rendered.");
    if (!*id)
        ih_con_suggest_field (x, d, "status");

    //  TLP and who receives it.
    const char *tlp = s_get (d, "tlp");
    if (!*tlp)
        tlp = "AMBER";
    ih_html_puts (b, "<div class=\"row\"><label>TLP</label><div class=\"checks\">");
    for (int t = 0; t < IH_TLP_COUNT; t++) {
        const char *name = ih_tlp_name ((ih_tlp_t) t);
        ih_buf_printf (b, "<label><input type=\"radio\" name=\"tlp\" value=\"%s\"%s> ", name,
                        streq (name, tlp) ? " checked" : "");
        ih_con_tlp (b, (ih_tlp_t) t);
        ih_html_puts (b, "</label>");
    }
    ih_html_puts (b, "</div></div>\n<div class=\"row\"><label>Recipients</label><div>");
    json_t *roster = ih_con_roster (x);
    json_t *orgs = json_object_get (roster, "orgs");
    json_t *rcpt = json_object_get (d, "rcpt");
    size_t i;
    json_t *o;
    ih_html_puts (b, "<div class=\"checks\">");
    json_array_foreach (orgs, i, o) {
        const char *org = s_get (o, "org");
        if (streq (org, x->con->org))
            continue;           //  the publisher's org always receives its own
        s_check (b, "rcpt", org, org, s_in (rcpt, org), s_get (o, "sector"));
    }
    json_t *sectors = json_object_get (roster, "sectors");
    json_array_foreach (sectors, i, o) {
        char v [IH_MAX_SHORT + 8];
        snprintf (v, sizeof v, "sector:%s", json_string_value (o));
        s_check (b, "rcpt", v, v, s_in (rcpt, v), NULL);
    }
    ih_html_puts (b, "</div>");
    if (json_array_size (orgs) == 0)
        ih_html_puts (b, "<p class=\"small muted\">The roster is not available yet: type the org ids.</p>");
    //  Recipients ticked that the roster does not list (a revision's, say) stay.
    ih_buf_t other;
    ih_buf_init (&other);
    ih_buf_printf (&other, "%s", s_get (d, "rcpt_other"));
    json_array_foreach (rcpt, i, o) {
        const char *v = json_string_value (o);
        bool listed = false;
        size_t j;
        json_t *p;
        json_array_foreach (orgs, j, p)
            listed = listed || streq (s_get (p, "org"), v);
        if (strncmp (v, "sector:", 7) == 0)
            listed = listed || s_in (sectors, v + 7);
        if (!listed && !strstr ((const char *) other.data, v))
            ih_buf_printf (&other, "%s%s", other.len ? ", " : "", v);
    }
    ih_buf_append (&other, "", 1);
    ih_html_puts (b, "<input type=\"text\" name=\"rcpt_other\" size=\"60\" placeholder=\"other org ids, "
                     "sector:NAME\" aria-label=\"other recipients\" value=\"");
    ih_html_esc (b, (const char *) other.data);
    ih_buf_free (&other);
    ih_html_puts (b, "\"><div class=\"hint\">CLEAR and GREEN go to everyone they allow: no recipients. AMBER "
                     "with none goes to every member; AMBER with recipients, AMBER+STRICT and RED go to the "
                     "orgs named (sectors: AMBER only) and to your own org.</div></div></div>\n");

    //  Severity, category, sectors.
    ih_html_puts (b, "<div class=\"row\"><label for=\"f-severity\">Severity</label><div><select id=\"f-severity\" "
                     "name=\"severity\">");
    const char *sev = *s_get (d, "severity") ? s_get (d, "severity") : "medium";
    for (int s = IH_SEV_COUNT - 1; s >= 0; s--) {
        const char *name = ih_severity_name ((ih_severity_t) s);
        ih_buf_printf (b, "<option%s>%s</option>", streq (name, sev) ? " selected" : "", name);
    }
    ih_html_puts (b, "</select>");
    ih_con_suggest_field (x, d, "severity");
    ih_html_puts (b, "</div></div>\n<div class=\"row\"><label for=\"f-category\">Category</label><div>"
                     "<select id=\"f-category\" name=\"category\">");
    const char *cat = *s_get (d, "category") ? s_get (d, "category") : "advisory";
    for (int c = 0; c < IH_CAT_COUNT + 2 && ih_category_name ((ih_category_t) c); c++) {
        const char *name = ih_category_name ((ih_category_t) c);
        ih_buf_printf (b, "<option value=\"%s\"%s>", name, streq (name, cat) ? " selected" : "");
        ih_html_esc (b, ih_con_cat_label ((ih_category_t) c));
        ih_html_puts (b, "</option>");
    }
    ih_html_puts (b, "</select>");
    ih_con_suggest_field (x, d, "category");
    ih_html_puts (b, "</div></div>\n<div class=\"row\"><label>Sectors</label><div><div class=\"checks\">");
    json_t *dsec = json_object_get (d, "sectors");
    json_t *shown = json_array ();
    json_array_foreach (sectors, i, o) {
        const char *sector = json_string_value (o);
        ih_buf_printf (b, "<label><input type=\"checkbox\" name=\"sector\" value=\"");
        ih_html_esc (b, sector);
        ih_html_puts (b, s_in (dsec, sector) ? "\" checked> " : "\"> ");
        ih_html_esc (b, sector);
        ih_con_suggest_sector_mark (x, d, sector);
        ih_html_puts (b, "</label>");
        json_array_append (shown, o);
    }
    //  The model's other sector candidates, as checkboxes too.
    ih_con_suggest_sector_extra (x, d, shown);
    ih_html_puts (b, "</div>");
    ih_buf_t so;
    ih_buf_init (&so);
    ih_buf_printf (&so, "%s", s_get (d, "sector_other"));
    json_array_foreach (dsec, i, o)
        if (!s_in (shown, json_string_value (o)) && !strstr ((const char *) so.data, json_string_value (o)))
            ih_buf_printf (&so, "%s%s", so.len ? ", " : "", json_string_value (o));
    json_decref (shown);
    ih_buf_append (&so, "", 1);
    ih_html_puts (b, "<input type=\"text\" name=\"sector_other\" size=\"40\" placeholder=\"other sectors\" "
                     "aria-label=\"other sectors\" value=\"");
    ih_html_esc (b, (const char *) so.data);
    ih_buf_free (&so);
    ih_html_puts (b, "\"></div></div>\n");
    json_decref (roster);
    s_text_row (b, "tags", "Tags", s_get (d, "tags"), "size=\"60\"", "Comma-separated.");
    ih_con_suggest_tag_row (x, d);
    s_area_row (b, "refs", "References", s_get (d, "refs"), 3, "One URL a line (http or https).");
    ih_html_puts (b, "<div class=\"row\"><label>Event</label><div><input type=\"date\" name=\"event_date\" "
                     "aria-label=\"event date\" value=\"");
    ih_html_esc (b, s_get (d, "event_date"));
    ih_html_puts (b, "\"> <input type=\"time\" name=\"event_time\" aria-label=\"event start (UTC), "
                     "empty for all day\" value=\"");
    ih_html_esc (b, s_get (d, "event_time"));
    ih_html_puts (b, "\"> <input type=\"text\" name=\"event_place\" size=\"28\" placeholder=\"place\" "
                     "aria-label=\"event place\" value=\"");
    ih_html_esc (b, s_get (d, "event_place"));
    ih_html_puts (b, "\"> <input type=\"text\" name=\"event_link\" size=\"40\" placeholder=\"https://link\" "
                     "aria-label=\"event link\" value=\"");
    ih_html_esc (b, s_get (d, "event_link"));
    ih_html_puts (b, "\"><div class=\"hint\">For a seminar or a workshop (category Event): its date, the start time "
                     "in UTC (empty: all day), the place and a link. Listed on the Events page, upcoming and "
                     "past; CLEAR ones also in the Public Zone.</div></div></div>\n");
    s_cands (x, d);
    s_area_row (b, "manual", "Type indicators", s_get (d, "manual"), 3,
                "One a line: <code>value</code> or <code>type value</code>, then <code># comment</code> if "
                "you like. Defanged values are fine.");
    s_area_row (b, "paste", "Paste text", s_get (d, "paste"), 5,
                "An advisory, an e-mail: <em>Extract</em> finds its indicators and links for you to "
                "review (refanged; warninglist hits are shown and left unticked).");
    ih_html_puts (b, "<div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"preview\" "
                     "class=\"quiet\" accesskey=\"p\">Preview</button><button type=\"submit\" name=\"action\" "
                     "value=\"extract\" class=\"quiet\" accesskey=\"e\">Extract indicators</button>"
                     "<button type=\"submit\" name=\"action\" value=\"send\" accesskey=\"s\">");
    ih_html_puts (b, *id ? "Send the revision" : "Send");
    ih_html_puts (b, "</button><span class=\"small muted\"><kbd>Alt</kbd>+<kbd>P</kbd> preview \xc2\xb7 "
                     "<kbd>Alt</kbd>+<kbd>E</kbd> extract \xc2\xb7 <kbd>Alt</kbd>+<kbd>S</kbd> send</span></div>"
                     "</form>\n");
    ih_con_end (x);
}

/* ---- building the alert --------------------------------------------------------------------------- */

/*  Splits text at commas, spaces or newlines (lines only, when lines) into arr. */
static void
s_split (json_t *arr, const char *text, bool lines)
{
    const char *seps = lines ? "\r\n" : ",\r\n";
    const char *p = text;
    while (*p) {
        size_t n = strcspn (p, seps);
        const char *s = p;
        size_t m = n;
        while (m && isspace ((unsigned char) *s))
            s++, m--;
        while (m && isspace ((unsigned char) s [m - 1]))
            m--;
        if (m) {
            json_t *v = json_stringn (s, m);
            bool dup = false;
            size_t i;
            json_t *e;
            json_array_foreach (arr, i, e)
                dup = dup || json_equal (e, v);
            if (!dup && v)
                json_array_append (arr, v);
            json_decref (v);
        }
        p += n;
        while (*p && strchr (seps, *p))
            p++;
    }
}

/*  The alert JSON of a draft (ih_json.h input form). */
static json_t *
s_alert_json (json_t *d)
{
    json_t *a = json_object ();
    if (*s_get (d, "id"))
        json_object_set_new (a, "id", json_string (s_get (d, "id")));
    json_object_set_new (a, "title", json_string (s_get (d, "title")));
    json_object_set_new (a, "summary", json_string (s_get (d, "summary")));
    json_object_set_new (a, "tlp", json_string (s_get (d, "tlp")));
    json_object_set_new (a, "severity", json_string (s_get (d, "severity")));
    json_object_set_new (a, "category", json_string (s_get (d, "category")));
    json_t *rcpt = json_array ();
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get (d, "rcpt"), i, v)
        json_array_append (rcpt, v);
    s_split (rcpt, s_get (d, "rcpt_other"), false);
    json_object_set_new (a, "recipients", rcpt);
    json_t *sectors = json_array ();
    json_array_foreach (json_object_get (d, "sectors"), i, v)
        json_array_append (sectors, v);
    s_split (sectors, s_get (d, "sector_other"), false);
    json_object_set_new (a, "sectors", sectors);
    json_t *tags = json_array ();
    json_t *refs = json_array ();
    if (streq (s_get (d, "category"), "event")) {
        //  PROTOCOL.md 5.3: the first date: and place: tags, the link first of the references.
        char t [IH_MAX_SHORT + 1];
        if (*s_get (d, "event_date")) {
            if (*s_get (d, "event_time"))
                snprintf (t, sizeof t, "date:%.10sT%.5sZ", s_get (d, "event_date"), s_get (d, "event_time"));
            else
                snprintf (t, sizeof t, "date:%.20s", s_get (d, "event_date"));
            json_array_append_new (tags, json_string (t));
        }
        if (*s_get (d, "event_place")) {
            snprintf (t, sizeof t, "place:%s", s_get (d, "event_place"));
            json_array_append_new (tags, json_string (t));
        }
        if (*s_get (d, "event_link"))
            json_array_append_new (refs, json_string (s_get (d, "event_link")));
    }
    s_split (tags, s_get (d, "tags"), false);
    ih_con_suggest_tags (d, tags);
    s_split (refs, s_get (d, "refs"), true);
    json_object_set_new (a, "tags", tags);
    json_object_set_new (a, "references", refs);
    json_t *iocs = json_array ();
    json_array_foreach (json_object_get (d, "cands"), i, v)
        if (json_is_true (json_object_get (v, "on")))
            json_array_append_new (iocs, json_pack ("{s:s, s:s, s:s, s:b}", "type", s_get (v, "type"),
                                                    "value", s_get (v, "value"), "comment", s_get (v, "comment"),
                                                    "detect", json_is_true (json_object_get (v, "detect"))));
    json_object_set_new (a, "iocs", iocs);
    return a;
}

/*  The rules the broker applies (ih_msg_validate: recipients per TLP, limits, normal
    forms), and the daemon's for an event (a valid date tag: ih_msg_event), checked here
    first with what the daemon fills in, so that a mistake is named on the form. */
static int
s_validate (ih_con_req_t *x, json_t *d, ih_msg_t *m, ih_err_t *err)
{
    if (!m->id [0])
        ih_uuid_new (m->id);
    m->org = ih_msg_str (m, x->con->org);
    m->member = ih_msg_str (m, x->con->member);
    m->author = ih_msg_str (m, ih_con_author (x));
    memset (m->signer, 1, sizeof m->signer);
    m->created = m->modified = ih_now_ms ();
    if (ih_msg_validate (m, err) != 0)
        return -1;
    ih_event_t ev;
    if (m->category == IH_CAT_EVENT) {
        if (!*s_get (d, "event_date"))
            return ih_err_set (err, "an event needs its date (the Event row)");
        if (ih_msg_event (m, &ev, err) < 0)
            return -1;
    }
    else
    if (*s_get (d, "event_date") || *s_get (d, "event_place") || *s_get (d, "event_link"))
        return ih_err_set (err, "the Event row is filled in: choose the category Event, or clear the row");
    return 0;
}

/*  What will be sent, in a panel above the form, and the alerts already held that look
    like it (is it shared already?). */
static void
s_preview (ih_con_req_t *x, json_t *d, ih_msg_t *m, ih_buf_t *out)
{
    ih_html_puts (out, "<div class=\"panel\"><h2 style=\"margin-top:0\">Preview</h2><div class=\"badges\">");
    ih_con_tlp (out, m->tlp);
    ih_con_sev (out, m->severity);
    ih_html_puts (out, "<span class=\"chip\">");
    ih_html_esc (out, ih_con_cat_label (m->category));
    ih_html_puts (out, "</span>");
    for (uint32_t i = 0; i < m->tags.count; i++) {
        ih_html_puts (out, "<span class=\"tag\">");
        ih_html_esc (out, m->tags.items [i]);
        ih_html_puts (out, "</span>");
    }
    ih_html_puts (out, "</div><h1>");
    ih_html_esc (out, m->title);
    ih_buf_printf (out, "</h1><p class=\"small\">%u %s \xc2\xb7 %u %s \xc2\xb7 by ", m->ioc_count,
                    ih_plural (m->ioc_count, "indicator", "indicators"), m->references.count,
                    ih_plural (m->references.count, "reference", "references"));
    ih_html_esc (out, m->author);
    ih_html_puts (out, " \xc2\xb7 receives it: ");
    if (m->tlp <= IH_TLP_GREEN || (m->tlp == IH_TLP_AMBER && m->recipients.count == 0))
        ih_html_puts (out, m->tlp == IH_TLP_CLEAR ? "everyone (public too)" : "every member");
    else {
        ih_html_esc (out, x->con->org);
        for (uint32_t i = 0; i < m->recipients.count; i++) {
            ih_html_puts (out, ", ");
            ih_html_esc (out, m->recipients.items [i]);
        }
    }
    ih_event_t ev;
    if (ih_msg_event (m, &ev, NULL) == 1) {
        ih_html_puts (out, "</p><p class=\"small\">Event: ");
        ih_con_time (out, ev.when);
        ih_html_puts (out, ev.all_day ? " (all day)" : " UTC");
        if (*ev.place) {
            ih_html_puts (out, " \xc2\xb7 ");
            ih_html_esc (out, ev.place);
        }
    }
    ih_html_puts (out, "</p><div class=\"summary\">");
    ih_html_markdown (out, m->summary);
    ih_html_puts (out, "</div>");
    //  Related alerts of the draft: rendered into the page's own buffer, then moved.
    ih_buf_t text;
    ih_buf_init (&text);
    ih_buf_printf (&text, "%s\n%s\n%s", m->title, m->summary, s_get (d, "paste"));
    ih_related_hit_t hits [IH_CON_RELATED_SHOWN * 2];
    ih_related_query_t q = { (const char *) text.data, text.len, m->iocs, m->ioc_count,
                             (const char *const *) m->references.items, m->references.count };
    ih_err_t err = { "" };
    int n = ih_con_related_draft (x->con->analytics, &q, hits, IH_CON_RELATED_SHOWN * 2, &err);
    ih_buf_free (&text);
    if (n > 0) {
        ih_buf_t *body = &x->r->body;
        size_t mark = body->len;
        if (ih_con_related_list (x, "Alerts this member holds that look like it", hits, n, m->id) > 0)
            ih_buf_append (out, (const char *) body->data + mark, body->len - mark);
        body->len = mark;
    }
    ih_html_puts (out, "</div>\n");
}

/* ---- the page --------------------------------------------------------------------------------- */

/*  After the publish: the alert's page (it says when the store does not hold it yet). */
static void
s_sent (ih_con_req_t *x, json_t *d, json_t *ans, const ih_msg_t *m)
{
    const char *id = json_string_value (json_object_get (ans, "id"));
    json_int_t rev = json_integer_value (json_object_get (ans, "revision"));
    json_int_t seq = json_integer_value (json_object_get (ans, "seq"));
    bool stored = json_is_true (json_object_get (ans, "stored"));
    ih_con_audit (x, *s_get (d, "id") ? "revise" : "publish", "alert %s revision %" PRId64 " seq %" PRId64
                  " (%s, %u %s): %.120s", id ? id : "?", (int64_t) rev, (int64_t) seq, ih_tlp_name (m->tlp),
                  m->ioc_count, ih_plural (m->ioc_count, "indicator", "indicators"), m->title);
    char to [128];
    snprintf (to, sizeof to, "/alerts/%.36s?sent=%s", id && ih_uuid_valid (id) ? id : s_get (d, "id"),
              stored ? "stored" : "1");
    ih_req_redirect (x->r, to);
}

void
ih_con_share (ih_con_req_t *x)
{
    ih_req_t *r = x->r;
    if (!r->post) {
        const char *rev = ih_req_arg (r, "revise");
        json_t *d = NULL;
        if (rev && *rev) {
            ih_msg_t m;
            ih_msg_init (&m, IH_KIND_ALERT);
            int rc = ih_uuid_valid (rev) ? ih_store_get (x->store, rev, &m, NULL, NULL) : 0;
            if (rc != 1 || !streq (m.org, x->con->org)) {
                ih_msg_free (&m);
                ih_con_fail (x, rc == 1 ? 403 : 404, rc == 1 ? "Only the publisher's organisation can revise it."
                                                            : "This member holds no such alert.");
                return;
            }
            d = s_draft_from_alert (&m);
            ih_msg_free (&m);
        }
        else {
            d = s_draft_new ();
            ih_con_suggest_fresh (d);
            ih_con_suggest_draft (x, d);        //  an empty text: says whether there is a model
        }
        s_form (x, d, NULL);
        json_decref (d);
        return;
    }
    json_t *d = s_draft_from_form (x);
    const char *action = x->stale ? "" : ih_con_val (x, "action");
    const char *error = NULL;
    ih_buf_t preview;
    ih_buf_init (&preview);
    if (streq (action, "extract")) {
        s_manual (d, &error);
        s_extract_t e;
        memset (&e, 0, sizeof e);
        e.d = d;
        ih_buf_init (&e.refs);
        ih_buf_append (&e.refs, "", 1);
        e.refs.len = 0;
        const char *paste = s_get (d, "paste");
        ih_extract_opts_t opts = { false, x->con->wl };
        ih_extract_run (paste, strlen (paste), &opts, s_extract_hit, &e);
        if (e.refs.len) {
            ih_buf_t refs;
            ih_buf_init (&refs);
            const char *old = s_get (d, "refs");
            ih_buf_printf (&refs, "%s%s%.*s", old, *old && old [strlen (old) - 1] != '\n' ? "\n" : "",
                           (int) e.refs.len, (const char *) e.refs.data);
            ih_buf_append (&refs, "", 1);
            s_set (d, "refs", (const char *) refs.data);
            ih_buf_free (&refs);
        }
        ih_buf_free (&e.refs);
        static __thread char note [400];
        int tlp = ih_extract_tlp (paste, strlen (paste));
        char listed [80] = "", techs [80] = "";
        if (e.listed)
            snprintf (listed, sizeof listed, " (%d on a warninglist: left unticked)", e.listed);
        if (e.techniques)
            snprintf (techs, sizeof techs, " %d ATT&CK %s among the suggested tags.", e.techniques,
                      ih_plural ((uint64_t) e.techniques, "technique", "techniques"));
        snprintf (note, sizeof note, "Extracted %d %s%s and %d %s; %d %s skipped.%s%s%s%s Review the ticked "
                  "rows before you send.", e.iocs, ih_plural ((uint64_t) e.iocs, "indicator", "indicators"), listed,
                  e.refs_added, ih_plural ((uint64_t) e.refs_added, "reference", "references"), e.skipped,
                  ih_plural ((uint64_t) e.skipped, "token", "tokens"), techs,
                  tlp >= 0 ? " The text is marked TLP:" : "", tlp >= 0 ? ih_tlp_name ((ih_tlp_t) tlp) : "",
                  tlp >= 0 ? "." : "");
        x->notice = note;
        ih_con_suggest_draft (x, d);
    }
    else
    if (streq (action, "preview") || streq (action, "send")) {
        int bad = s_manual (d, &error);
        ih_msg_t m;
        ih_msg_init (&m, IH_KIND_ALERT);
        ih_err_t err = { "" };
        if (streq (action, "preview"))
            ih_con_suggest_draft (x, d);
        json_t *a = s_alert_json (d);
        static __thread char msg [600];
        if (!error)
            ih_msg_free (&m);           //  ih_msg_from_json initialises it again
        if (!error && (ih_msg_from_json (&m, a, NULL, &err) != 0 || s_validate (x, d, &m, &err) != 0)) {
            snprintf (msg, sizeof msg, "Not sent: %s", err.msg);
            error = msg;
        }
        else
        if (!error) {
            if (streq (action, "preview"))
                s_preview (x, d, &m, &preview);
            else
            if (bad == 0) {
                json_t *req = json_pack ("{s:s, s:O}", "author", ih_con_author (x), "alert", a);
                json_t *ans = ih_con_call (x, "publish", req, 0, &err);
                if (!ans) {
                    fprintf (stderr, "E console: publish: %s\n", err.msg);
                    error = "The agent daemon does not answer: nothing was sent. Is `infohub-agent run` running?";
                    r->status = 503;
                }
                else
                if (!json_is_true (json_object_get (ans, "ok"))) {
                    char why [512];
                    ih_con_refusal (ans, why, sizeof why);
                    snprintf (msg, sizeof msg, "Not sent: %s", why);
                    error = msg;
                    r->status = 502;
                    ih_con_audit (x, "refused", "publish: %s", why);
                }
                else {
                    s_sent (x, d, ans, &m);
                    json_decref (ans);
                    ih_msg_free (&m);
                    json_decref (a);
                    json_decref (d);
                    ih_buf_free (&preview);
                    return;
                }
                json_decref (ans);
            }
        }
        ih_msg_free (&m);
        json_decref (a);
    }
    x->error = error;
    ih_buf_append (&preview, "", 1);
    int status = r->status;
    s_form (x, d, preview.len > 1 ? (const char *) preview.data : NULL);
    if (status)
        r->status = status;
    else
    if (error)
        r->status = 400;
    ih_buf_free (&preview);
    json_decref (d);
}
