/*  ih_pages.c: the Public Zone's HTML pages (see ih_pages.h).

    The shell (head, navigation, footer) and the stylesheet are the web layer's
    (web/ih_layout), described for this site in ih_gw.c; the pages write the column:
    cards for advisories, tables for indicators. No JavaScript anywhere: copying a value
    is a click (CSS user-select: all) or a read-only textarea per IOC type. All data goes
    through ih_html_esc; the summary through cmark in safe mode.
*/
#include <czmq.h>
#include <errno.h>
#include <time.h>

#include "ih_find.h"
#include "ih_html.h"
#include "ih_ioc.h"
#include "ih_pages.h"
#include "ih_select.h"
#include "ih_svg.h"

#define s_PAGE          20          /* advisories per page */
#define s_CACHE_PAGE    "public, max-age=30"

/* ---- static files ----------------------------------------------------------------------- */

void
ih_pages_static (ih_req_t *r, const char *name)
{
    if (ih_layout_asset (&ih_gw_of (r)->layout, r, name))
        return;
    if (streq (name, "robots.txt")) {
        r->etag = true;
        r->cache = "public, max-age=86400";
        r->ctype = "text/plain; charset=utf-8";
        ih_html_puts (&r->body, "User-agent: *\nDisallow: /search\nDisallow: /export/\n"
                                "Disallow: /taxii2/\nDisallow: /api/\n");
    }
    else
        ih_req_error (r, 404, "no such file");
}

/* ---- names and small pieces --------------------------------------------------------------- */

static const char *
s_cat_label (ih_category_t c)
{
    static const char *const labels [IH_CAT_COUNT] = {
        "Ransomware", "Phishing", "Malware", "Vulnerability", "DDoS", "Intrusion", "Fraud",
        "Data leak", "Advisory", "Other", "Event"
    };
    return (int) c >= 0 && c < IH_CAT_COUNT ? labels [c] : "Other";
}

static const char *
s_ioc_label (ih_ioc_type_t t)
{
    static const char *const labels [IH_IOC_COUNT] = {
        "IPv4", "IPv6", "CIDR", "Domain", "URL", "Email", "MD5", "SHA-1", "SHA-256", "File name",
        "CVE", "ASN"
    };
    return (int) t >= 0 && t < IH_IOC_COUNT ? labels [t] : "?";
}

/*  "2026-11-28 17:25 UTC" in a <time> element. */
static void
s_time (ih_buf_t *b, int64_t ms)
{
    char iso [IH_TIME_MAX];
    ih_time_format (ms, iso);
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    char text [40];
    strftime (text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
    ih_buf_printf (b, "<time datetime=\"%s\">%s</time>", iso, text);
}

static void
s_badges (ih_buf_t *b, const ih_msg_t *m)
{
    const char *sev = ih_severity_name (m->severity);
    const char *cat = ih_category_name (m->category);
    ih_html_puts (b, "<div class=\"badges\"><span class=\"tlp\">TLP:");
    ih_html_esc (b, ih_tlp_name (m->tlp));
    ih_html_puts (b, "</span>");
    if (sev) {
        ih_buf_printf (b, "<span class=\"sev sev-%s\">", sev);
        ih_html_esc (b, sev);
        ih_html_puts (b, "</span>");
    }
    if (cat) {
        ih_html_puts (b, "<a class=\"chip\" href=\"/?category=");
        ih_html_urlenc (b, cat);
        ih_html_puts (b, "\">");
        ih_html_esc (b, s_cat_label (m->category));
        ih_html_puts (b, "</a>");
    }
    ih_html_puts (b, "</div>");
}

static void
s_list (ih_buf_t *b, const ih_strlist_t *l, const char *link)
{
    for (uint32_t i = 0; i < l->count; i++) {
        if (i)
            ih_html_puts (b, ", ");
        if (link) {
            ih_html_puts (b, "<a href=\"");
            ih_html_puts (b, link);
            ih_html_urlenc (b, l->items [i]);
            ih_html_puts (b, "\">");
            ih_html_esc (b, l->items [i]);
            ih_html_puts (b, "</a>");
        }
        else
            ih_html_esc (b, l->items [i]);
    }
}

/*  One advisory in a list. */
static void
s_card (ih_buf_t *b, const ih_msg_t *m, const ih_store_alert_t *info)
{
    ih_html_puts (b, "<li class=\"card\">");
    s_badges (b, m);
    ih_buf_printf (b, "<h2><a href=\"/alerts/%s\">", m->id);
    ih_html_esc (b, m->title);
    ih_html_puts (b, "</a></h2>");
    ih_buf_t text;
    ih_buf_init (&text);
    ih_html_md_text (&text, m->summary, 240);
    if (text.len) {
        ih_html_puts (b, "<p class=\"excerpt\">");
        ih_html_escn (b, (const char *) text.data, text.len);
        ih_html_puts (b, "</p>");
    }
    ih_buf_free (&text);
    ih_html_puts (b, "<p class=\"meta\"><span>Published by <strong>");
    ih_html_esc (b, m->org);
    ih_html_puts (b, "</strong></span><span>");
    s_time (b, m->modified);
    ih_html_puts (b, "</span>");
    if (m->sectors.count) {
        ih_html_puts (b, "<span>Sectors: ");
        s_list (b, &m->sectors, NULL);
        ih_html_puts (b, "</span>");
    }
    if (!info || !info->retracted)
        ih_buf_printf (b, "<span>%u indicator%s</span>", m->ioc_count, m->ioc_count == 1 ? "" : "s");
    if (info && info->revision > 1)
        ih_buf_printf (b, "<span>Revision %u</span>", info->revision);
    ih_html_puts (b, "</p></li>\n");
}

/*  A piece of a page from gw->frags, or rendered by render (into an empty buffer) and put
    there: the key (ih_gw_frag_key) names everything the piece is made of, so a cached
    piece is the one render would make now. */
typedef void (s_render_fn)(ih_buf_t *b, const ih_msg_t *m, const ih_store_alert_t *info);

static void
s_frag (ih_gw_t *gw, ih_buf_t *b, const char *kind, s_render_fn *render, const ih_msg_t *m,
        const ih_store_alert_t *info)
{
    if (!gw->frags) {
        render (b, m, info);
        return;
    }
    uint8_t key [IH_GW_FRAG_KEY_MAX];
    size_t klen = ih_gw_frag_key (key, kind, info);
    ih_cache_item_t *item = ih_cache_get (gw->frags, key, klen);
    if (!item) {
        ih_buf_t piece;
        ih_buf_init (&piece);
        render (&piece, m, info);
        ih_buf_reserve (&piece, 1);         //  never a NULL value, even when empty
        item = ih_cache_put (gw->frags, key, klen, piece.data, piece.len);
    }
    ih_buf_append (b, ih_cache_value (item), ih_cache_size (item));
    ih_cache_release (gw->frags, &item);
}

static void
s_card_render (ih_buf_t *b, const ih_msg_t *m, const ih_store_alert_t *info)
{
    s_card (b, m, info);
}

/*  s_card, from gw->frags when it was rendered before for the same revision and status. */
static void
s_card_cached (ih_gw_t *gw, ih_buf_t *b, const ih_msg_t *m, const ih_store_alert_t *info)
{
    s_frag (gw, b, "card", s_card_render, m, info);
}

/*  The summary's Markdown, safe (ih_html_markdown). */
static void
s_summary_render (ih_buf_t *b, const ih_msg_t *m, const ih_store_alert_t *info)
{
    ih_html_markdown (b, m->summary);
}

/* ---- the shell -------------------------------------------------------------------------------- */

static void
s_begin (ih_req_t *r, const char *title, const char *active)
{
    ih_layout_begin (&ih_gw_of (r)->layout, r, title, active);
}

static void
s_end (ih_req_t *r)
{
    ih_layout_end (&ih_gw_of (r)->layout, r);
}

/* ---- / ------------------------------------------------------------------------------------- */

typedef struct {
    ih_req_t *r;
    ih_select_t sel;            /* before = SEQ: 0 from the newest; status active */
    int shown;
    uint64_t last_seq;
    bool more;
} s_index_t;

/*  An alert the selection took (ih_select_walk). */
static int
s_index_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_index_t *x = (s_index_t *) arg;
    if (!ih_gw_visible (m))
        return 0;
    if (x->shown == s_PAGE) {
        x->more = true;
        return 1;
    }
    if (x->shown == 0)
        ih_html_puts (&x->r->body, "<ol class=\"alerts\">\n");
    s_card_cached (ih_gw_of (x->r), &x->r->body, m, info);
    x->shown++;
    x->last_seq = info->seq;
    return 0;
}

static const char *
s_arg (void *r, const char *key)
{
    const char *v = ih_req_arg ((ih_req_t *) r, key);
    return v && *v ? v : NULL;          //  an empty form field means "any"
}

void
ih_pages_index (ih_req_t *r)
{
    s_index_t x;
    memset (&x, 0, sizeof x);
    x.r = r;
    ih_select_init (&x.sel);
    //  The selection of the API and the command line (ih_select.h), read from the query.
    static const char *const keys [] = { "before", "category", "sector", "severity", "since", NULL };
    ih_err_t serr = { "" };
    if (ih_select_from (&x.sel, keys, s_arg, r, &serr) != 0) {
        ih_req_error (r, 400, serr.msg);
        return;
    }
    ih_store_t *store = ih_gw_store (r);
    ih_store_counts_t counts;
    ih_err_t err = { "" };
    if (ih_store_counts (store, &counts, &err) != 0) {
        ih_gw_store_failed (r, err.msg);
        ih_req_error (r, 503, "The advisory store cannot be read right now.");
        return;
    }
    r->etag = true;
    r->cache = s_CACHE_PAGE;
    ih_buf_t *b = &r->body;
    ih_buf_reserve (b, 24 * 1024);          //  a page of 20 cards: no growing on the way
    s_begin (r, "Latest advisories", "/");
    const ih_select_t *sel = &x.sel;
    bool narrowed = sel->category >= 0 || sel->sector [0] || sel->min_severity >= 0 || sel->since;
    ih_html_puts (b, "<h1>");
    if (sel->category >= 0) {
        ih_html_esc (b, s_cat_label ((ih_category_t) sel->category));
        ih_html_puts (b, " advisories");
    }
    else
        ih_html_puts (b, "Latest advisories");
    if (sel->sector [0]) {
        ih_html_puts (b, " for the ");
        ih_html_esc (b, sel->sector);
        ih_html_puts (b, " sector");
    }
    uint64_t held = counts.alerts - counts.retracted;
    ih_buf_printf (b, "</h1><p class=\"lede\">Threat alerts, advisories and indicators of compromise "
                    "that Infohub members have shared with everyone (TLP:CLEAR). %" PRIu64 " %s held.",
                    held, ih_plural (held, "advisory", "advisories"));
    if (narrowed)
        ih_html_puts (b, " <a href=\"/\">Show all</a>");
    ih_html_puts (b, "</p>\n");
    uint64_t before = sel->before;
    //  From `before` down, by the store's indexes for the filters: a deep or filtered
    //  page reads about what it shows, whatever the size of the store.
    uint64_t cut = 0;
    int rc = ih_select_walk (store, sel, true, IH_GW_WALK_BUDGET, &cut, s_index_one, &x, &err);
    if (rc < 0) {
        ih_gw_store_failed (r, err.msg);
        ih_req_error (r, 503, "The advisory store cannot be read right now.");
        return;
    }
    if (cut && !x.more) {
        //  The walk's budget ran out before a full page: go on from where it stopped.
        x.more = true;
        x.last_seq = cut;
    }
    if (x.shown)
        ih_html_puts (b, "</ol>\n");
    else
    if (cut)
        ih_html_puts (b, "<div class=\"empty\">None among the most recent advisories: look at "
                         "older ones.</div>\n");
    else
        ih_html_puts (b, "<div class=\"empty\">No advisories here yet. New ones appear as soon as "
                         "members share them.</div>\n");
    if (before || x.more) {
        //  Pager links keep the selection (ih_select_query), escaped for the attribute.
        ih_buf_t q;
        ih_buf_init (&q);
        ih_select_query (sel, &q);
        ih_html_puts (b, "<nav class=\"pager\"><span>");
        if (before) {
            ih_html_puts (b, "<a href=\"/");
            if (q.len) {
                ih_html_puts (b, "?");
                ih_html_esc (b, (const char *) q.data);
            }
            ih_html_puts (b, "\">\xe2\x86\x90 Newest</a>");
        }
        ih_html_puts (b, "</span><span>");
        if (x.more) {
            ih_buf_printf (b, "<a href=\"/?before=%" PRIu64, x.last_seq);
            if (q.len) {
                ih_html_puts (b, "&amp;");
                ih_html_esc (b, (const char *) q.data);
            }
            ih_html_puts (b, "\">Older advisories \xe2\x86\x92</a>");
        }
        ih_html_puts (b, "</span></nav>\n");
        ih_buf_free (&q);
    }
    s_end (r);
}

/* ---- /alerts/ID ---------------------------------------------------------------------------- */

static void
s_iocs (ih_req_t *r, ih_store_t *store, const ih_msg_t *m, const ih_store_alert_t *info)
{
    ih_buf_t *b = &r->body;
    uint32_t shown = 0, retracted = 0;
    bool *hide = (bool *) calloc (m->ioc_count ? m->ioc_count : 1, sizeof (bool));
    if (!hide)
        abort ();
    for (uint32_t i = 0; i < m->ioc_count; i++) {
        hide [i] = ih_store_ioc_retracted (info, &m->iocs [i]);
        if (hide [i])
            retracted++;
        else
            shown++;
    }
    ih_buf_printf (b, "<h2 id=\"indicators\">Indicators (%u)</h2>\n", shown);
    if (shown == 0) {
        ih_html_puts (b, "<p class=\"empty\">This advisory lists no indicators.</p>\n");
    }
    else {
        ih_html_puts (b, "<table class=\"iocs\"><thead><tr><th>Type</th><th>Value</th>"
                         "<th>Comment</th><th>Detection</th><th class=\"num\">Sightings</th></tr>"
                         "</thead><tbody>\n");
        for (uint32_t i = 0; i < m->ioc_count; i++) {
            if (hide [i])
                continue;
            const ih_ioc_t *ioc = &m->iocs [i];
            uint64_t seen = 0;
            ih_store_sightings (store, ioc->type, ioc->value, &seen, NULL, NULL);
            ih_html_puts (b, "<tr><td>");
            ih_html_esc (b, s_ioc_label (ioc->type));
            ih_html_puts (b, "</td><td class=\"value\"><code>");
            ih_html_esc (b, ioc->value);
            ih_html_puts (b, "</code></td><td>");
            ih_html_esc (b, ioc->comment);
            ih_buf_printf (b, "</td><td>%s</td><td class=\"num\">%" PRIu64 "</td></tr>\n",
                            ioc->detect ? "Yes" : "Context only", seen);
        }
        ih_html_puts (b, "</tbody></table>\n");
        //  A plain list per type, for copying into a blocklist in one go.
        for (int t = 0; t < IH_IOC_COUNT; t++) {
            uint32_t n = 0;
            for (uint32_t i = 0; i < m->ioc_count; i++)
                n += !hide [i] && (int) m->iocs [i].type == t;
            if (n == 0)
                continue;
            //  "Copy the IPv4 value", "Copy all 3 domain values"
            if (n == 1)
                ih_html_puts (b, "<details class=\"copy\"><summary>Copy the ");
            else
                ih_buf_printf (b, "<details class=\"copy\"><summary>Copy all %u ", n);
            ih_html_esc (b, s_ioc_label ((ih_ioc_type_t) t));
            ih_buf_printf (b, " %s</summary><textarea readonly rows=\"%u\" aria-label=\"",
                            ih_plural (n, "value", "values"), n < 12 ? n + 1 : 12);
            ih_html_esc (b, s_ioc_label ((ih_ioc_type_t) t));
            ih_html_puts (b, " values\">");
            for (uint32_t i = 0; i < m->ioc_count; i++)
                if (!hide [i] && (int) m->iocs [i].type == t) {
                    ih_html_esc (b, m->iocs [i].value);
                    ih_html_puts (b, "\n");
                }
            ih_html_puts (b, "</textarea></details>\n");
        }
    }
    if (retracted)
        ih_buf_printf (b, "<p class=\"lede\">%u indicator%s withdrawn by the publisher %s not shown.</p>\n",
                        retracted, retracted == 1 ? "" : "s", retracted == 1 ? "is" : "are");
    free (hide);
}

/*  "Related advisories": the public alerts most like this one (ih_related), a short
    list: link, title, a near-duplicate badge; everything escaped. Only what this site
    shows is listed (TLP:CLEAR, not retracted). */
#define s_RELATED_SHOWN 5

typedef struct {
    ih_buf_t *b;
    const ih_related_hit_t *hit;
    int shown;
} s_related_t;

static int
s_related_one (const ih_msg_t *other, const ih_store_alert_t *info, void *arg)
{
    s_related_t *x = (s_related_t *) arg;
    if (!ih_gw_visible (other) || info->retracted)
        return 0;
    ih_buf_t *b = x->b;
    if (x->shown++ == 0)
        ih_html_puts (b, "<h2 id=\"related\">Related advisories</h2><ul class=\"refs related\">");
    ih_buf_printf (b, "<li><a href=\"/alerts/%s\">", other->id);
    ih_html_esc (b, other->title);
    ih_html_puts (b, "</a>");
    if (x->hit->near_duplicate)
        ih_html_puts (b, " <span class=\"tag\" title=\"The same report, shared again\">near-duplicate</span>");
    ih_html_puts (b, "</li>");
    return 0;
}

static void
s_related (ih_req_t *r, ih_store_t *store, const ih_msg_t *m)
{
    ih_gw_t *gw = ih_gw_of (r);
    if (!gw->related)
        return;
    //  The query (a quarter of an alert page's work) answers from the index alone: its
    //  hits are kept in gw->frags under the index's watermark (the store seq it is in step
    //  with: ih_related.h), when the watermark did not move during the query. What is
    //  shown of each hit (its title, whether it is public and active) is read from the
    //  store below at every request.
    ih_related_hit_t hits [20];
    ih_err_t err = { "" };
    uint8_t key [16 + IH_UUID_LEN + 8];
    memset (key, 0, sizeof key);
    memcpy (key, "related", 7);
    memcpy (key + 16, m->id, IH_UUID_LEN);
    uint64_t mark = ih_related_watermark (gw->related);
    ih_put_be64 (key + 16 + IH_UUID_LEN, mark);
    int n = 0;
    ih_cache_item_t *item = gw->frags ? ih_cache_get (gw->frags, key, sizeof key) : NULL;
    if (item) {
        n = (int) (ih_cache_size (item) / sizeof hits [0]);
        memcpy (hits, ih_cache_value (item), (size_t) n * sizeof hits [0]);
        ih_cache_release (gw->frags, &item);
    }
    else {
        n = ih_related_for_alert (gw->related, m->id, hits, 20, &err);
        if (n >= 0 && gw->frags && ih_related_watermark (gw->related) == mark) {
            ih_related_hit_t *copy = (ih_related_hit_t *) malloc ((size_t) (n ? n : 1) * sizeof hits [0]);
            if (!copy)
                abort ();
            memcpy (copy, hits, (size_t) n * sizeof hits [0]);
            item = ih_cache_put (gw->frags, key, sizeof key, copy, (size_t) n * sizeof hits [0]);
            ih_cache_release (gw->frags, &item);
        }
    }
    s_related_t x = { &r->body, NULL, 0 };
    for (int i = 0; i < n && x.shown < s_RELATED_SHOWN; i++) {
        x.hit = &hits [i];
        ih_store_get_with (store, hits [i].id, s_related_one, &x, &err);
    }
    if (x.shown)
        ih_html_puts (&r->body, "</ul>\n");
}

typedef struct {
    ih_req_t *r;
    ih_store_t *store;
    bool shown;
} s_alert_t;

/*  The page of one alert (ih_store_get_with: m may be the cache's; read-only). */
static int
s_alert_page (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_alert_t *x = (s_alert_t *) arg;
    if (!ih_gw_visible (m))
        return 0;
    x->shown = true;
    ih_req_t *r = x->r;
    ih_store_t *store = x->store;
    r->etag = true;
    r->cache = s_CACHE_PAGE;
    ih_buf_t *b = &r->body;
    s_begin (r, m->title, NULL);
    ih_buf_printf (b, "<p class=\"crumbs\"><a href=\"/\">Advisories</a> \xe2\x80\xba %s</p>\n", m->id);
    s_badges (b, m);
    ih_html_puts (b, "<h1>");
    ih_html_esc (b, m->title);
    ih_html_puts (b, "</h1>\n");
    if (info->retracted)
        ih_html_puts (b, "<div class=\"retracted\"><strong>Retracted.</strong> The publisher has "
                         "withdrawn this advisory; its indicators are no longer shown and should "
                         "not be used.</div>\n");
    ih_html_puts (b, "<dl class=\"facts\"><dt>Publisher</dt><dd><strong>");
    ih_html_esc (b, m->org);
    ih_html_puts (b, "</strong> (");
    ih_html_esc (b, m->member);
    ih_html_puts (b, ")</dd><dt>First shared</dt><dd>");
    s_time (b, m->created);
    ih_html_puts (b, "</dd><dt>Last updated</dt><dd>");
    s_time (b, m->modified);
    ih_buf_printf (b, "</dd><dt>Revision</dt><dd>%u", m->revision);
    if (info->revisions > 1)
        ih_buf_printf (b, " (%u revisions received)", info->revisions);
    ih_html_puts (b, "</dd>");
    if (m->sectors.count) {
        ih_html_puts (b, "<dt>Sectors</dt><dd>");
        s_list (b, &m->sectors, "/?sector=");
        ih_html_puts (b, "</dd>");
    }
    if (m->tags.count) {
        ih_html_puts (b, "<dt>Tags</dt><dd class=\"badges\">");
        for (uint32_t i = 0; i < m->tags.count; i++) {
            ih_html_puts (b, "<span class=\"tag\">");
            ih_html_esc (b, m->tags.items [i]);
            ih_html_puts (b, "</span>");
        }
        ih_html_puts (b, "</dd>");
    }
    ih_buf_printf (b, "<dt>Sightings</dt><dd>%" PRIu64 " %s reported by members", info->sightings,
                    ih_plural (info->sightings, "sighting", "sightings"));
    if (info->comments)
        ih_buf_printf (b, " \xc2\xb7 %u comment%s", info->comments, info->comments == 1 ? "" : "s");
    ih_buf_printf (b, "</dd><dt>Identifier</dt><dd><code>%s</code></dd></dl>\n", m->id);

    if (m->summary && *m->summary) {
        ih_html_puts (b, "<h2>Summary</h2>\n<div class=\"summary\">");
        s_frag (ih_gw_of (r), b, "summary", s_summary_render, m, info);
        ih_html_puts (b, "</div>\n");
    }
    if (!info->retracted)
        s_iocs (r, store, m, info);
    if (m->references.count) {
        ih_html_puts (b, "<h2>References</h2><ul class=\"refs\">");
        for (uint32_t i = 0; i < m->references.count; i++) {
            const char *u = m->references.items [i];
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
    s_related (r, store, m);
    ih_buf_printf (b, "<h2>Machine-readable</h2><p><a href=\"/api/v1/alerts/%s\">JSON</a> \xc2\xb7 "
                    "<a href=\"/taxii2/api/collections/%s/objects/report--%s/\">STIX 2.1 report "
                    "(TAXII)</a> \xc2\xb7 <a href=\"/feed.atom\">Atom feed</a></p>\n", m->id,
                    IH_GW_COLLECTION, m->id);
    s_end (r);
    return 0;
}

void
ih_pages_alert (ih_req_t *r, const char *id)
{
    s_alert_t x = { r, ih_gw_store (r), false };
    ih_err_t err = { "" };
    int rc = ih_store_get_with (x.store, id, s_alert_page, &x, &err);
    if (rc < 0) {
        ih_gw_store_failed (r, err.msg);
        ih_req_error (r, 503, "The advisory store cannot be read right now.");
        return;
    }
    if (rc == 0 || !x.shown) {
        //  Not held, or (never expected) not public: the same answer for both.
        ih_req_error (r, 404, "There is no such advisory. It may not have reached this site yet.");
        return;
    }
}

/* ---- /search ----------------------------------------------------------------------------------- */

/*  A word hit the public may see (ih_find_run's rule for the gateway). */
static bool
s_search_keep (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    return ih_gw_visible (m) && !info->retracted;
}

typedef struct {
    ih_gw_t *gw;
    ih_buf_t *list;
    int shown;
} s_found_t;

/*  A result's card, when the public may see it. */
static int
s_found_card (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_found_t *x = (s_found_t *) arg;
    if (ih_gw_visible (m) && !info->retracted) {
        s_card_cached (x->gw, x->list, m, info);
        x->shown++;
    }
    return 0;
}

void
ih_pages_search (ih_req_t *r)
{
    const char *raw = ih_req_arg (r, "q");
    char q [IH_FIND_QUERY + 1] = "";
    if (raw) {
        while (*raw == ' ' || *raw == '\t')
            raw++;
        size_t n = strlen (raw);
        while (n && (raw [n - 1] == ' ' || raw [n - 1] == '\t'))
            n--;
        if (n > IH_FIND_QUERY) {
            ih_req_error (r, 400, "The search text is too long (256 characters at most).");
            return;
        }
        memcpy (q, raw, n);
        q [n] = 0;
    }
    ih_store_t *store = ih_gw_store (r);
    ih_find_t *s = (ih_find_t *) calloc (1, sizeof *s);
    if (!s)
        abort ();
    ih_err_t err = { "" };
    //  An IOC value (defanged too; CIDR containment, parent domains and subdomains), and
    //  every word of the query (ih_find.h).
    if (*q && ih_find_run (store, q, IH_GW_WALK_BUDGET, s_search_keep, NULL, s, &err) < 0) {
        free (s);
        ih_gw_store_failed (r, err.msg);
        ih_req_error (r, 503, "The advisory store cannot be read right now.");
        return;
    }
    r->etag = true;
    r->cache = s_CACHE_PAGE;
    ih_buf_t *b = &r->body;
    s_begin (r, *q ? q : "Search", "/search");
    ih_html_puts (b, "<h1>Search advisories</h1><p class=\"lede\">Words of titles, summaries and "
                     "indicator values: an advisory is found when it has every word searched. An "
                     "IP address also finds the networks that contain it; a domain, its parents "
                     "and subdomains. Defanged values work too.</p>\n"
                     "<form class=\"search\" method=\"get\" action=\"/search\" role=\"search\">"
                     "<input type=\"search\" name=\"q\" maxlength=\"256\" "
                     "placeholder=\"e.g. CVE-2023-4966, 45.86.230.137, citrix-update[.]net, phishing\" "
                     "aria-label=\"Search text\" value=\"");
    ih_html_esc (b, q);
    ih_html_puts (b, "\"><button type=\"submit\">Search</button></form>\n");
    int shown = 0;
    if (*q) {
        ih_buf_t list;
        ih_buf_init (&list);
        s_found_t found = { ih_gw_of (r), &list, 0 };
        for (int i = 0; i < s->n; i++)
            ih_store_get_with (store, s->ids [i], s_found_card, &found, NULL);
        shown = found.shown;
        ih_buf_printf (b, "<p class=\"lede\">%d result%s for \xe2\x80\x9c", shown, shown == 1 ? "" : "s");
        ih_html_esc (b, q);
        ih_html_puts (b, "\xe2\x80\x9d");
        if (s->ioc) {
            ih_html_puts (b, " (searched as ");
            ih_html_esc (b, s->ioc_value);
            ih_html_puts (b, ")");
        }
        ih_buf_printf (b, ".%s%s</p>\n", s->n == IH_FIND_MAX ? " Only the first 100 are shown." : "",
                        s->cut && s->n < IH_FIND_MAX
                        ? " The search stopped before the oldest advisories: add a word, or "
                          "search for an indicator." : "");
        if (shown) {
            ih_html_puts (b, "<ol class=\"alerts\">\n");
            ih_buf_append (b, list.data, list.len);
            ih_html_puts (b, "</ol>\n");
        }
        ih_buf_free (&list);
    }
    free (s);
    s_end (r);
}

/* ---- /trends ---------------------------------------------------------------------------------- */

#define s_DAY_MS    86400000LL
#define s_WEEK_MS   (7 * s_DAY_MS)

typedef struct {
    int64_t start;              /* first bucket's Monday, ms */
    int weeks;
    uint32_t *counts;           /* weeks x IH_CAT_COUNT */
    uint64_t total;
} s_trends_t;

/*  One count of the store's weekly counts (ih_store_weeks): active alerts created that
    week, of a category and a TLP; only CLEAR ones are public. */
static int
s_trends_week (int64_t monday_ms, ih_category_t category, ih_tlp_t tlp, uint32_t count, void *arg)
{
    s_trends_t *t = (s_trends_t *) arg;
    if (tlp != IH_TLP_CLEAR || monday_ms < t->start)
        return 0;
    int64_t w = (monday_ms - t->start) / s_WEEK_MS;
    if (w >= t->weeks || (int) category < 0 || category >= IH_CAT_COUNT)
        return 0;
    t->counts [w * IH_CAT_COUNT + category] += count;
    t->total += count;
    return 0;
}

void
ih_pages_trends (ih_req_t *r)
{
    s_trends_t t = { 0, 26, NULL, 0 };
    const char *weeks = ih_req_arg (r, "weeks");
    if (weeks) {
        uint64_t w;
        if (!ih_parse_u64 (weeks, &w) || w < 4 || w > 104) {
            ih_req_error (r, 400, "weeks: expected a number from 4 to 104");
            return;
        }
        t.weeks = (int) w;
    }
    int64_t now = ih_now_ms ();
    int64_t day = now / s_DAY_MS;
    int64_t monday = day - (day + 3) % 7;           //  1970-01-01 was a Thursday
    t.start = (monday - 7 * (t.weeks - 1)) * s_DAY_MS;
    t.counts = (uint32_t *) calloc ((size_t) t.weeks * IH_CAT_COUNT, sizeof (uint32_t));
    if (!t.counts)
        abort ();
    ih_err_t err = { "" };
    //  The store keeps the counts per week (ih_store.h, weeks): no walk of the alerts.
    if (ih_store_weeks (ih_gw_store (r), t.start, t.start + t.weeks * s_WEEK_MS, s_trends_week, &t,
                        &err) < 0) {
        free (t.counts);
        ih_gw_store_failed (r, err.msg);
        ih_req_error (r, 503, "The advisory store cannot be read right now.");
        return;
    }
    //  The chart changes with the week as well as with the store (its labels say which
    //  week it is, so the ETag, a hash of the page, does too).
    r->etag = true;
    r->cache = s_CACHE_PAGE;
    r->expires_ms = (monday + 7) * s_DAY_MS;

    char (*labels) [16] = calloc ((size_t) t.weeks, 16);
    const char **xl = (const char **) calloc ((size_t) t.weeks, sizeof (char *));
    const char *series [IH_CAT_COUNT];
    if (!labels || !xl)
        abort ();
    for (int w = 0; w < t.weeks; w++) {
        time_t secs = (time_t) ((t.start + w * s_WEEK_MS) / 1000);
        struct tm tm;
        gmtime_r (&secs, &tm);
        strftime (labels [w], 16, "%e %b", &tm);
        xl [w] = labels [w] [0] == ' ' ? labels [w] + 1 : labels [w];
    }
    for (int c = 0; c < IH_CAT_COUNT; c++)
        series [c] = s_cat_label ((ih_category_t) c);

    ih_buf_t *b = &r->body;
    s_begin (r, "Trends", "/trends");
    ih_buf_printf (b, "<h1>Trends</h1><p class=\"lede\">Advisories shared per week, by category, "
                    "over the last %d weeks (weeks start on Monday, UTC). Other periods: "
                    "<a href=\"/trends?weeks=13\">13 weeks</a> \xc2\xb7 <a href=\"/trends?weeks=26\">26 weeks</a> "
                    "\xc2\xb7 <a href=\"/trends?weeks=52\">52 weeks</a>.</p>\n", t.weeks);
    uint32_t cat_total [IH_CAT_COUNT] = { 0 };
    for (int w = 0; w < t.weeks; w++)
        for (int c = 0; c < IH_CAT_COUNT; c++)
            cat_total [c] += t.counts [w * IH_CAT_COUNT + c];
    int top = -1, tied = 0;
    for (int c = 0; c < IH_CAT_COUNT; c++)
        if (cat_total [c] && (top < 0 || cat_total [c] > cat_total [top]))
            top = c;
    for (int c = 0; c < IH_CAT_COUNT; c++)
        tied += top >= 0 && cat_total [c] == cat_total [top];
    uint32_t this_week = 0;
    for (int c = 0; c < IH_CAT_COUNT; c++)
        this_week += t.counts [(t.weeks - 1) * IH_CAT_COUNT + c];
    ih_buf_printf (b, "<div class=\"stats\"><div class=\"stat\"><b>%" PRIu64 "</b><span>%s "
                    "in the period</span></div><div class=\"stat\"><b>%u</b><span>this week</span></div>"
                    "<div class=\"stat\"><b>", t.total, ih_plural (t.total, "advisory", "advisories"),
                    this_week);
    //  The most frequent category, when one is; a tie is called a tie: two are named,
    //  more are counted (the table below names them).
    if (top < 0)
        ih_html_puts (b, "\xe2\x80\x94</b><span>most frequent category");
    else
    if (tied == 1) {
        ih_html_esc (b, s_cat_label ((ih_category_t) top));
        ih_buf_printf (b, "</b><span>most frequent category (%u of %" PRIu64 ")", cat_total [top], t.total);
    }
    else {
        if (tied == 2) {
            const char *sep = "";
            for (int c = 0; c < IH_CAT_COUNT; c++)
                if (cat_total [c] == cat_total [top]) {
                    ih_html_puts (b, sep);
                    ih_html_esc (b, s_cat_label ((ih_category_t) c));
                    sep = " and ";
                }
        }
        else
            ih_buf_printf (b, "%d categories", tied);
        ih_buf_printf (b, "</b><span>tied for most frequent (%u %s each)", cat_total [top],
                        ih_plural (cat_total [top], "advisory", "advisories"));
    }
    ih_html_puts (b, "</span></div></div>\n<div class=\"panel\">");
    ih_svg_chart_t chart = { "Advisories per week by category", t.weeks, IH_CAT_COUNT, t.counts, xl, series };
    ih_svg_stacked (b, &chart);
    ih_html_puts (b, "</div>\n<h2>By category</h2><table><thead><tr><th>Category</th>"
                     "<th class=\"num\">Advisories</th><th class=\"num\">This week</th></tr></thead><tbody>\n");
    for (int c = 0; c < IH_CAT_COUNT; c++) {
        if (!cat_total [c])
            continue;
        ih_buf_printf (b, "<tr><td><span class=\"swatch\" aria-hidden=\"true\"><svg width=\"10\" "
                        "height=\"10\"><rect width=\"10\" height=\"10\" fill=\"%s\"/></svg></span>"
                        "<a href=\"/?category=%s\">", ih_svg_colour (c),
                        ih_category_name ((ih_category_t) c));
        ih_html_esc (b, series [c]);
        ih_buf_printf (b, "</a></td><td class=\"num\">%u</td><td class=\"num\">%u</td></tr>\n",
                        cat_total [c], t.counts [(t.weeks - 1) * IH_CAT_COUNT + c]);
    }
    if (t.total == 0)
        ih_html_puts (b, "<tr><td colspan=\"3\">No advisories in this period.</td></tr>\n");
    ih_html_puts (b, "</tbody></table>\n");
    s_end (r);
    free (labels);
    free (xl);
    free (t.counts);
}

/* ---- self-test --------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"
#include "ih_tk_http.h"

#define s_TBIG      100000          /* alerts in the store of the scale test */
#define s_TBATCH    1000

/*  Fills the store with n CLEAR alerts from seq 1, as the gateway's subscriber would
    (straight through the store API, like bench/ih_bench_load.c): categories in turn,
    three sectors, created over the last 40 weeks, and words: every alert's title says
    "advisory", one in ten "ransomware", another one in ten "wiper", one in a thousand
    "needle" (and "ransomware"). */
static void
s_tfill (ih_store_t *store, int n)
{
    static const char *const sectors [] = { "finance", "health", "energy" };
    ih_msg_t *m = (ih_msg_t *) calloc (s_TBATCH, sizeof *m);
    uint64_t seqs [s_TBATCH];
    IH_CHECK (m);
    int64_t now = ih_now_ms ();
    ih_err_t err = { "" };
    for (int first = 0; first < n; first += s_TBATCH) {
        int k = 0;
        for (; k < s_TBATCH && first + k < n; k++) {
            int i = first + k;
            char title [128];
            snprintf (title, sizeof title, "Public advisory %d%s%s", i,
                      i % 10 == 3 ? " on ransomware" : i % 10 == 4 ? " on a wiper" : "",
                      i % 1000 == 13 ? " with a needle" : "");
            ih_tk_alert (&m [k], NULL, IH_TLP_CLEAR, title);
            m [k].category = (ih_category_t) (i % 10);     //  the first ten categories, in turn
            m [k].severity = (ih_severity_t) (i % IH_SEV_COUNT);
            m [k].created = m [k].modified = now - (int64_t) (n - i) * (280LL * 86400000 / n);
            ih_msg_strlist_add (&m [k], &m [k].sectors, sectors [i % 3]);
            seqs [k] = (uint64_t) i + 1;
        }
        IH_CHECK (ih_store_ingest_msgs (store, m, seqs, (size_t) k, NULL, &err) == 0);
        for (int j = 0; j < k; j++)
            ih_msg_free (&m [j]);
    }
    free (m);
}

/*  GET path: 200, and the records the store read for it. */
static uint64_t
s_treads (uint16_t port, const char *path, const char *want, bool verbose)
{
    uint64_t r0 = ih_store_reads ();
    ih_tk_http_t res;
    int status = ih_tk_http (&res, port, "GET", path, NULL);
    uint64_t reads = ih_store_reads () - r0;
    if (verbose)
        printf ("\n    GET %-36s %d, %6" PRIu64 " records read", path, status, reads);
    if (status != 200 || (want && !strstr (res.body, want)))
        fprintf (stderr, "GET %s: %d, no '%s' in:\n%.3000s\n", path, status, want ? want : "", res.body);
    IH_CHECK (status == 200);
    IH_CHECK (!want || strstr (res.body, want));
    ih_tk_http_free (&res);
    return reads;
}

/*  The pages over a store of s_TBIG alerts: each reads a bounded number of records
    (counted by the store: ih_store_reads), whatever the size of the store; what a page
    shows does not depend on how it was found. Times are the benchmark's
    (bench/bench_pages.sh), never a test's. */
static void
s_tscale (bool verbose)
{
    char dir [256];
    ih_err_t err = { "" };
    ih_gw_t gw;
    ih_gw_test_open (&gw, "Scale", "pages", 1ULL << 30, dir);
    int64_t t0 = ih_now_ms ();
    s_tfill (gw.store, s_TBIG);
    if (verbose)
        printf ("\n    %d alerts stored in %.1f s", s_TBIG, (double) (ih_now_ms () - t0) / 1000.0);
    ih_http_cfg_t cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.listen = "127.0.0.1";
    ih_http_t *http = ih_gw_serve (&gw, &cfg, &err);
    IH_CHECK (http);
    uint16_t port = ih_http_port (http);
    //  The bound: a page of 20 cards, a search's 100 results, 26 weeks of counts, each
    //  read as a few records; a walk from the newest alert reads s_TBIG and more.
    const uint64_t bound = 2000;
    //  The newest page, a deep one, filtered ones (deep too), two searches, trends.
    IH_CHECK (s_treads (port, "/", "Public advisory 99999<", verbose) < bound);
    IH_CHECK (s_treads (port, "/?before=50001", "Public advisory 49999<", verbose) < bound);
    IH_CHECK (s_treads (port, "/?before=2", "Public advisory 0<", verbose) < bound);
    IH_CHECK (s_treads (port, "/?category=phishing", "Public advisory 99991<", verbose) < bound);
    IH_CHECK (s_treads (port, "/?category=phishing&before=30000", "Public advisory 29991<", verbose) < bound);
    IH_CHECK (s_treads (port, "/?sector=energy&severity=critical&before=60000", "Public advisory 59987<",
                        verbose) < bound);
    IH_CHECK (s_treads (port, "/search?q=needle", "100 results", verbose) < bound);
    IH_CHECK (s_treads (port, "/search?q=Needle+ransomware", "100 results", verbose) < bound);
    IH_CHECK (s_treads (port, "/search?q=nothing+here", "0 results", verbose) < bound);
    //  Words (and filters) that never meet: the walk's budget bounds what is read, and
    //  the page offers to go on.
    IH_CHECK (s_treads (port, "/search?q=ransomware+wiper", "stopped before", verbose)
              < IH_GW_WALK_BUDGET + bound);
    IH_CHECK (s_treads (port, "/?category=malware&severity=critical", "look at older",
                        verbose) < IH_GW_WALK_BUDGET + bound);
    IH_CHECK (s_treads (port, "/trends", "<svg", verbose) < bound);
    IH_CHECK (s_treads (port, "/api/v1/alerts?category=fraud&next=70000", "\"count\":50", verbose) < bound);
    ih_http_destroy (&http);
    ih_gw_release (&gw);
    ih_added_destroy (&gw.added);
    ih_store_destroy (&gw.store);
    ih_tk_rmtree (dir);
}

/*  GET path (after the subscriber's commit: the generation moved): 200, with every string
    of want and none of refuse. */
static void
s_tget (uint16_t port, const char *path, const char *const *want, const char *const *refuse,
        bool verbose)
{
    ih_tk_http_t res;
    int status = ih_tk_http (&res, port, "GET", path, NULL);
    bool ok = status == 200;
    for (int i = 0; want && want [i]; i++)
        ok = ok && strstr (res.body, want [i]);
    for (int i = 0; refuse && refuse [i]; i++)
        ok = ok && !strstr (res.body, refuse [i]);
    if (verbose || !ok)
        printf ("\n    GET %-50s %d%s", path, status, ok ? "" : ": wrong page");
    if (!ok)
        fprintf (stderr, "\n%.4000s\n", res.body);
    IH_CHECK (ok);
    ih_tk_http_free (&res);
}

/*  The caches (ih_gw.h, CACHES) never serve what a revision or a retraction replaced:
    each page is asked for, from the caches too, before and after each change the
    subscriber stores. */
static void
s_tstale (bool verbose)
{
    char dir [256];
    ih_err_t err = { "" };
    ih_gw_t gw;
    ih_gw_test_open (&gw, "Stale", "pages-stale", 64 << 20, dir);
    ih_msg_t m [2];
    ih_tk_alert (&m [0], NULL, IH_TLP_CLEAR, "Alpha first <b>edition</b>");
    m [0].summary = ih_msg_str (&m [0], "The **first** summary");
    static const char *const iocs [] = { "domain:one.example", "domain:two.example", NULL };
    ih_tk_iocs (&m [0], iocs, true);
    ih_tk_alert (&m [1], NULL, IH_TLP_CLEAR, "Bravo");
    uint64_t seqs [2] = { 1, 2 };
    IH_CHECK (ih_store_ingest_msgs (gw.store, m, seqs, 2, NULL, &err) == 0);
    ih_http_cfg_t cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.listen = "127.0.0.1";
    ih_http_t *http = ih_gw_serve (&gw, &cfg, &err);
    IH_CHECK (http);
    uint16_t port = ih_http_port (http);
    char page [128];
    snprintf (page, sizeof page, "/alerts/%s", m [0].id);

    //  Twice each: the second from the caches.
    const char *first [] = { "Alpha first &lt;b&gt;edition&lt;/b&gt;", NULL };
    for (int i = 0; i < 2; i++) {
        s_tget (port, "/", (const char *[]) { first [0], "Bravo", "2 indicators", NULL }, NULL, verbose);
        s_tget (port, page, (const char *[]) { first [0], "The <strong>first</strong> summary",
                                                "one.example", NULL }, NULL, verbose);
        s_tget (port, "/search?q=alpha", first, NULL, verbose);
        atomic_fetch_add (&gw.gen, 1);
    }
    ih_cache_stats_t st;
    ih_cache_stats (gw.frags, &st);
    IH_CHECK (st.hits >= 3);
    ih_cache_stats (gw.alerts, &st);
    IH_CHECK (st.hits >= 3);

    //  A revision: a new title, summary and IOCs everywhere, nothing of the old one.
    ih_msg_t rev;
    ih_msg_copy (&rev, &m [0]);
    rev.revision = 2;
    rev.modified += 60000;
    rev.title = ih_msg_str (&rev, "Alpha second edition");
    rev.summary = ih_msg_str (&rev, "The **second** summary");
    static const char *const more [] = { "domain:three.example", NULL };
    ih_tk_iocs (&rev, more, true);
    uint64_t seq = 3;
    IH_CHECK (ih_store_ingest_msgs (gw.store, &rev, &seq, 1, NULL, &err) == 0);
    atomic_fetch_add (&gw.gen, 1);
    const char *old [] = { "first", NULL };
    for (int i = 0; i < 2; i++) {
        s_tget (port, "/", (const char *[]) { "Alpha second edition", "3 indicators", "Revision 2", NULL },
                old, verbose);
        s_tget (port, page, (const char *[]) { "Alpha second edition", "The <strong>second</strong> summary",
                                                "three.example", NULL }, old, verbose);
        s_tget (port, "/search?q=alpha", (const char *[]) { "Alpha second edition", NULL }, old, verbose);
        s_tget (port, "/api/v1/alerts", (const char *[]) { "Alpha second edition", NULL }, old, verbose);
        atomic_fetch_add (&gw.gen, 1);
    }

    //  One IOC retracted: gone from the alert page (the rest of it may come from the caches).
    ih_msg_t ret;
    ih_tk_ref (&ret, NULL, IH_KIND_RETRACTION, m [0].id);
    static const char *const gone [] = { "domain:one.example", NULL };
    ih_tk_iocs (&ret, gone, false);
    seq = 4;
    IH_CHECK (ih_store_ingest_msgs (gw.store, &ret, &seq, 1, NULL, &err) == 0);
    atomic_fetch_add (&gw.gen, 1);
    s_tget (port, page, (const char *[]) { "two.example", "1 indicator withdrawn", NULL },
            (const char *[]) { "one.example", NULL }, verbose);
    ih_msg_free (&ret);

    //  The whole alert retracted: off the list and the search, marked on its page.
    ih_tk_ref (&ret, NULL, IH_KIND_RETRACTION, m [0].id);
    seq = 5;
    IH_CHECK (ih_store_ingest_msgs (gw.store, &ret, &seq, 1, NULL, &err) == 0);
    atomic_fetch_add (&gw.gen, 1);
    for (int i = 0; i < 2; i++) {
        s_tget (port, "/", (const char *[]) { "Bravo", NULL }, (const char *[]) { "Alpha", NULL }, verbose);
        s_tget (port, page, (const char *[]) { "Retracted.", "Alpha second edition", NULL },
                (const char *[]) { "two.example", "three.example", NULL }, verbose);
        s_tget (port, "/search?q=alpha", (const char *[]) { "0 results", NULL },
                (const char *[]) { "Alpha second", NULL }, verbose);
        atomic_fetch_add (&gw.gen, 1);
    }
    ih_msg_free (&ret);
    ih_msg_free (&rev);
    ih_http_destroy (&http);
    ih_gw_release (&gw);
    for (int i = 0; i < 2; i++)
        ih_msg_free (&m [i]);
    ih_added_destroy (&gw.added);
    ih_store_destroy (&gw.store);
    ih_tk_rmtree (dir);
}

void
ih_pages_test (bool verbose)
{
    IH_CHECK (streq (s_cat_label (IH_CAT_DATA_LEAK), "Data leak"));
    for (int c = 0; c < IH_CAT_COUNT; c++)
        IH_CHECK (s_cat_label ((ih_category_t) c) != NULL);
    IH_CHECK (streq (s_cat_label (IH_CAT_EVENT), "Event"));
    IH_CHECK (streq (s_cat_label ((ih_category_t) 99), "Other"));
    IH_CHECK (streq (s_ioc_label (IH_IOC_SHA256), "SHA-256"));
    uint64_t v;
    IH_CHECK (ih_parse_u64 ("0", &v) && v == 0);
    IH_CHECK (ih_parse_u64 ("18446744073709551615", &v) && v == UINT64_MAX);
    IH_CHECK (!ih_parse_u64 ("18446744073709551616", &v));
    IH_CHECK (!ih_parse_u64 ("-1", &v) && !ih_parse_u64 ("1x", &v) && !ih_parse_u64 ("", &v));
    IH_CHECK (!ih_parse_u64 (NULL, &v));

    //  A card of a hostile alert: nothing of the payloads survives as markup.
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    snprintf (m.id, sizeof m.id, "11111111-1111-4111-8111-111111111111");
    m.title = ih_msg_str (&m, "<script>alert('t')</script>");
    m.summary = ih_msg_str (&m, "<img src=x onerror=alert(1)> **x**");
    m.org = ih_msg_str (&m, "bank-a");
    m.member = ih_msg_str (&m, "soc");
    m.category = IH_CAT_PHISHING;
    ih_msg_strlist_add (&m, &m.sectors, "finance");
    ih_buf_t b;
    ih_buf_init (&b);
    ih_store_alert_t info;
    memset (&info, 0, sizeof info);
    s_card (&b, &m, &info);
    const char *html = ih_html_cstr (&b);
    if (verbose)
        printf ("\n%s", html);
    IH_CHECK (!strstr (html, "<script") && !strstr (html, "<img"));
    IH_CHECK (strstr (html, "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;"));
    IH_CHECK (strstr (html, "href=\"/?category=phishing\""));
    IH_CHECK (strstr (html, "0 indicators"));
    ih_buf_free (&b);
    ih_msg_free (&m);

    s_tstale (verbose);
    s_tscale (verbose);
    if (verbose)
        printf ("\n    ");
}
#endif
