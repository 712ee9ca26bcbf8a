/*  ih_feed.c: the Atom feed (see ih_feed.h). */
#include <czmq.h>

#include "ih_feed.h"
#include "ih_html.h"

#define s_ENTRIES 50

typedef struct {
    ih_req_t *r;
    ih_buf_t entries;
    int n;
    int64_t updated;
} s_feed_t;

static int
s_entry (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_feed_t *f = (s_feed_t *) arg;
    if (!ih_gw_visible (m) || info->retracted)
        return 0;
    ih_buf_t *b = &f->entries;
    const char *base = ih_gw_of (f->r)->base_url;
    char created [IH_TIME_MAX], modified [IH_TIME_MAX];
    ih_time_format (m->created, created);
    ih_time_format (m->modified, modified);
    if (m->modified > f->updated)
        f->updated = m->modified;
    ih_buf_printf (b, "<entry>\n<id>urn:uuid:%s</id>\n<title type=\"text\">", m->id);
    ih_html_esc (b, m->title);
    ih_html_puts (b, "</title>\n<link rel=\"alternate\" type=\"text/html\" href=\"");
    ih_html_esc (b, base);
    ih_buf_printf (b, "/alerts/%s\"/>\n<published>%s</published>\n<updated>%s</updated>\n"
                    "<author><name>", m->id, created, modified);
    ih_html_esc (b, m->org);
    ih_html_puts (b, "</name></author>\n<category term=\"");
    ih_html_esc (b, ih_category_name (m->category));
    ih_html_puts (b, "\"/>\n<category term=\"severity:");
    ih_html_esc (b, ih_severity_name (m->severity));
    ih_html_puts (b, "\"/>\n<category term=\"tlp:clear\"/>\n");
    for (uint32_t i = 0; i < m->sectors.count; i++) {
        ih_html_puts (b, "<category term=\"sector:");
        ih_html_esc (b, m->sectors.items [i]);
        ih_html_puts (b, "\"/>\n");
    }
    ih_buf_t text;
    ih_buf_init (&text);
    ih_html_md_text (&text, m->summary, 400);
    ih_html_puts (b, "<summary type=\"text\">");
    ih_html_escn (b, (const char *) text.data, text.len);
    ih_html_puts (b, "</summary>\n");
    //  The content is HTML carried as escaped text: the Markdown rendered in safe mode,
    //  then the indicators; the HTML itself is escaped once more by ih_html_escn.
    ih_buf_reset (&text);
    ih_html_markdown (&text, m->summary);
    ih_buf_printf (&text, "<p>Severity: %s. Category: %s. Indicators: %u.</p>",
                    ih_severity_name (m->severity), ih_category_name (m->category), m->ioc_count);
    ih_html_puts (b, "<content type=\"html\">");
    ih_html_escn (b, (const char *) text.data, text.len);
    ih_html_puts (b, "</content>\n</entry>\n");
    ih_buf_free (&text);
    return ++f->n == s_ENTRIES ? 1 : 0;
}

void
ih_feed_atom (ih_req_t *r)
{
    s_feed_t f;
    memset (&f, 0, sizeof f);
    f.r = r;
    ih_buf_init (&f.entries);
    ih_err_t err = { "" };
    if (ih_store_foreach (ih_gw_store (r), 0, true, s_entry, &f, &err) < 0) {
        ih_buf_free (&f.entries);
        ih_gw_store_failed (r, err.msg);
        ih_req_error (r, 503, "The advisory store cannot be read right now.");
        return;
    }
    ih_gw_t *gw = ih_gw_of (r);
    const char *base = gw->base_url;
    char updated [IH_TIME_MAX];
    ih_time_format (f.updated ? f.updated : gw->started_ms, updated);
    ih_buf_t *b = &r->body;
    ih_html_puts (b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                     "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title type=\"text\">");
    ih_html_esc (b, gw->title);
    ih_html_puts (b, ": latest advisories</title>\n<subtitle type=\"text\">Threat alerts and "
                     "indicators shared by Infohub members under TLP:CLEAR.</subtitle>\n<id>");
    ih_html_esc (b, base);
    ih_html_puts (b, "/feed.atom</id>\n<link rel=\"self\" type=\"application/atom+xml\" href=\"");
    ih_html_esc (b, base);
    ih_html_puts (b, "/feed.atom\"/>\n<link rel=\"alternate\" type=\"text/html\" href=\"");
    ih_html_esc (b, base);
    ih_buf_printf (b, "/\"/>\n<updated>%s</updated>\n<generator>infohub-gateway</generator>\n",
                    updated);
    ih_buf_append (b, f.entries.data ? f.entries.data : (uint8_t *) "", f.entries.len);
    ih_html_puts (b, "</feed>\n");
    ih_buf_free (&f.entries);
    r->ctype = "application/atom+xml; charset=utf-8";
    r->etag = true;
    r->cache = "public, max-age=60";
}
