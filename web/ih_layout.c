/*  ih_layout.c: the shared page shell, stylesheet and icon (see ih_layout.h).

    Layout: a dark header with the site name and navigation, a centred column, cards for
    advisories, tables for indicators. No JavaScript anywhere: copying a value is a
    click (CSS user-select: all) or a read-only textarea (the pages' markup).
*/
#include <czmq.h>

#include "ih_html.h"
#include "ih_layout.h"

#define s_CACHE_STATIC  "public, max-age=86400"

/* ---- assets -------------------------------------------------------------------------------- */

static const char s_css [] =
":root{--ink:#1b2733;--muted:#5c6570;--line:#dfe4ea;--bg:#f4f6f9;--card:#fff;--brand:#0b2545;"
"--accent:#1864ab;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace}\n"
"*{box-sizing:border-box}\n"
"html{-webkit-text-size-adjust:100%}\n"
"body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.55 system-ui,-apple-system,"
"'Segoe UI',Roboto,'Helvetica Neue',Arial,'DejaVu Sans',sans-serif;display:flex;flex-direction:column;"
"min-height:100vh}\n"
"a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}\n"
".wrap{max-width:1080px;margin:0 auto;padding:0 24px}\n"
"header.top{background:var(--brand);color:#fff;border-bottom:3px solid #13315c}\n"
"header.top .wrap{display:flex;align-items:center;justify-content:space-between;min-height:60px;"
"flex-wrap:wrap;gap:8px}\n"
".brand{display:flex;align-items:center;gap:10px;color:#fff;font-weight:650;font-size:18px;"
"letter-spacing:.2px}\n"
".brand:hover{text-decoration:none}.brand span{font-weight:400;color:#b9c7da}\n"
"nav.main a{color:#dbe4f0;margin-left:4px;padding:7px 12px;border-radius:6px;font-size:14px}\n"
"nav.main a:hover{background:#13315c;text-decoration:none;color:#fff}\n"
"nav.main a.active{background:#1d4270;color:#fff}\n"
"main{padding:28px 24px 48px;flex:1 0 auto;width:100%}\n"
"h1{font-size:26px;line-height:1.25;margin:6px 0 8px}\n"
"h2{font-size:18px;margin:28px 0 10px}\n"
".lede{color:var(--muted);margin:0 0 20px}\n"
".crumbs{font-size:13px;color:var(--muted);margin-bottom:10px}\n"
"ol.alerts{list-style:none;margin:0;padding:0}\n"
".card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 20px;"
"margin:0 0 14px;box-shadow:0 1px 2px rgba(16,24,40,.04)}\n"
".card h2{font-size:17px;margin:8px 0 4px}.card h2 a{color:var(--ink)}\n"
".card h2 a:hover{color:var(--accent)}\n"
".excerpt{margin:4px 0 8px;color:#2f3b47}\n"
".meta{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:13px;color:var(--muted);margin:0}\n"
".badges{display:flex;flex-wrap:wrap;gap:6px;align-items:center}\n"
".tlp,.sev,.chip,.tag{display:inline-block;font-size:12px;font-weight:600;line-height:1;"
"padding:5px 8px;border-radius:4px;letter-spacing:.3px}\n"
".tlp{background:#000;color:#fff;font-family:var(--mono)}\n"
".sev{color:#fff;text-transform:uppercase;font-size:11px}\n"
".sev-critical{background:#a51111}.sev-high{background:#d9480f}.sev-medium{background:#b7791f}"
".sev-low{background:#2f7d32}\n"
".chip{background:#e7eef7;color:#1d4270}.chip:hover{text-decoration:none;background:#d3e1f2}\n"
".tag{background:#f1f3f5;color:#495057;font-weight:500}\n"
".retracted{background:#fff4e6;border:1px solid #ffc078;color:#7a3e00;border-radius:8px;"
"padding:10px 14px;margin:14px 0}\n"
"dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 18px;margin:16px 0;"
"background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 18px}\n"
"dl.facts dt{color:var(--muted);font-size:13px}dl.facts dd{margin:0}\n"
".summary{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:4px 22px}\n"
".summary h1,.summary h2,.summary h3{font-size:16px}\n"
".summary code,td code{font-family:var(--mono);font-size:13px}\n"
".summary pre{background:#f6f8fa;padding:10px;border-radius:6px;overflow:auto}\n"
"table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);"
"border-radius:10px;overflow:hidden;font-size:14px}\n"
"th,td{text-align:left;padding:9px 12px;border-bottom:1px solid var(--line);vertical-align:top}\n"
"th{background:#eef2f6;font-size:12px;text-transform:uppercase;letter-spacing:.4px;color:#445}\n"
"tr:last-child td{border-bottom:0}\n"
"td.value code{user-select:all;-webkit-user-select:all;word-break:break-all;background:#f6f8fa;"
"padding:2px 5px;border-radius:4px}\n"
"td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
"details.copy{margin:8px 0}details.copy summary{cursor:pointer;color:var(--accent);font-size:14px}\n"
"details.copy textarea{width:100%;font:13px/1.4 var(--mono);padding:8px;border:1px solid var(--line);"
"border-radius:6px;margin-top:6px;resize:vertical}\n"
"ul.refs{padding-left:20px}ul.refs li{word-break:break-all;margin:3px 0}\n"
"form.search{display:flex;gap:8px;margin:8px 0 22px}\n"
"form.search input{flex:1;font-size:16px;padding:10px 12px;border:1px solid #b8c2cc;border-radius:8px}\n"
"form.search button{font-size:15px;padding:10px 18px;border:0;border-radius:8px;background:var(--accent);"
"color:#fff;cursor:pointer}\n"
".pager{display:flex;justify-content:space-between;margin-top:18px;font-size:14px}\n"
".empty{background:var(--card);border:1px dashed #c5ced8;border-radius:10px;padding:28px;"
"text-align:center;color:var(--muted)}\n"
".panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px}\n"
"svg.chart{width:100%;height:auto;display:block}\n"
".stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin:0 0 18px}\n"
".stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}\n"
".stat b{display:block;font-size:22px}.stat span{color:var(--muted);font-size:13px}\n"
"footer{border-top:1px solid var(--line);color:var(--muted);font-size:13px;padding:18px 0 36px}\n"
"footer .wrap{display:flex;justify-content:space-between;flex-wrap:wrap;gap:10px}\n"
"footer a{margin-right:14px}\n"
".swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}\n"
"@media (max-width:640px){.wrap{padding:0 14px}main{padding:18px 14px}dl.facts{grid-template-columns:1fr}}\n";

static const char s_icon [] =
"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">"
"<rect width=\"32\" height=\"32\" rx=\"7\" fill=\"#1d4270\"/>"
"<path d=\"M16 5l9 4v6c0 6-4 10-9 12-5-2-9-6-9-12V9z\" fill=\"none\" stroke=\"#fff\" stroke-width=\"2.2\"/>"
"<circle cx=\"16\" cy=\"15\" r=\"3\" fill=\"#74c0fc\"/></svg>\n";


bool
ih_layout_asset (const ih_layout_t *self, ih_req_t *r, const char *name)
{
    if (streq (name, "style.css")) {
        r->ctype = "text/css; charset=utf-8";
        ih_html_puts (&r->body, s_css);
        if (self && self->css)
            ih_html_puts (&r->body, self->css);
    }
    else
    if (streq (name, "icon.svg") || streq (name, "favicon.ico")) {
        r->ctype = "image/svg+xml";
        ih_html_puts (&r->body, s_icon);
    }
    else
        return false;
    r->etag = true;
    r->cache = s_CACHE_STATIC;
    return true;
}

/* ---- the shell ----------------------------------------------------------------------------- */

static const char *
s_site (const ih_layout_t *self)
{
    return self && self->site ? self->site : "Infohub";
}

static const char *
s_home (const ih_layout_t *self)
{
    return self && self->home ? self->home : "/";
}

void
ih_layout_begin (const ih_layout_t *self, ih_req_t *r, const char *title, const char *active)
{
    ih_buf_t *b = &r->body;
    const char *site = s_site (self);
    r->ctype = "text/html; charset=utf-8";
    ih_html_puts (b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "<title>");
    ih_html_esc (b, title);
    ih_html_puts (b, " \xc2\xb7 ");
    ih_html_esc (b, site);
    ih_html_puts (b, "</title><link rel=\"stylesheet\" href=\"/static/style.css\">"
                     "<link rel=\"icon\" href=\"/static/icon.svg\" type=\"image/svg+xml\">");
    if (self && self->head)
        ih_html_puts (b, self->head);
    ih_html_puts (b, "</head>\n<body><header class=\"top\"><div class=\"wrap\"><a class=\"brand\" href=\"");
    ih_html_esc (b, s_home (self));
    ih_html_puts (b, "\"><img src=\"/static/icon.svg\" alt=\"\" width=\"28\" height=\"28\">");
    ih_html_esc (b, site);
    ih_html_puts (b, "</a><nav class=\"main\">");
    for (int i = 0; self && i < self->nnav; i++) {
        const ih_layout_link_t *l = &self->nav [i];
        ih_html_puts (b, "<a href=\"");
        ih_html_esc (b, l->href);
        ih_html_puts (b, active && streq (active, l->href) ? "\" class=\"active\">" : "\">");
        ih_html_esc (b, l->label);
        ih_html_puts (b, "</a>");
    }
    ih_html_puts (b, "</nav></div></header>\n<main class=\"wrap\">\n");
}

void
ih_layout_end (const ih_layout_t *self, ih_req_t *r)
{
    ih_html_puts (&r->body, "</main>\n");
    if (self && self->footer) {
        ih_html_puts (&r->body, "<footer><div class=\"wrap\">");
        ih_html_puts (&r->body, self->footer);
        ih_html_puts (&r->body, "</div></footer>\n");
    }
    ih_html_puts (&r->body, "</body></html>\n");
}

void
ih_layout_error (const ih_layout_t *self, ih_req_t *r, int status, const char *title,
                 const char *detail)
{
    ih_buf_reset (&r->body);
    r->status = status;
    r->etag = false;
    ih_layout_begin (self, r, title, NULL);
    ih_buf_printf (&r->body, "<p class=\"crumbs\">Error %d</p><h1>", status);
    ih_html_esc (&r->body, title);
    ih_html_puts (&r->body, "</h1><p class=\"lede\">");
    ih_html_esc (&r->body, detail);
    ih_html_puts (&r->body, "</p>");
    if (self && self->back) {
        ih_html_puts (&r->body, "<p><a href=\"");
        ih_html_esc (&r->body, s_home (self));
        ih_html_puts (&r->body, "\">");
        ih_html_esc (&r->body, self->back);
        ih_html_puts (&r->body, "</a></p>");
    }
    ih_html_puts (&r->body, "\n");
    ih_layout_end (self, r);
}

/* ---- self-test -------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

void
ih_layout_test (bool verbose)
{
    static const ih_layout_link_t nav [] = { { "/", "Home" }, { "/a?b=1&c=2", "A & B" } };
    ih_layout_t site = {
        .site = "Test <Zone>", .home = "/", .nav = nav, .nnav = 2,
        .head = "<meta name=\"x\" content=\"y\">", .footer = "<div>foot</div>",
        .back = "Back home", .css = "p{color:red}\n"
    };
    ih_req_t r;
    memset (&r, 0, sizeof r);
    ih_buf_init (&r.body);
    ih_layout_begin (&site, &r, "<script>", "/a?b=1&c=2");
    ih_html_puts (&r.body, "<p>content</p>\n");
    ih_layout_end (&site, &r);
    const char *html = ih_html_cstr (&r.body);
    if (verbose)
        printf ("\n%s", html);
    IH_CHECK (streq (r.ctype, "text/html; charset=utf-8"));
    IH_CHECK (strstr (html, "<title>&lt;script&gt; \xc2\xb7 Test &lt;Zone&gt;</title>"));
    IH_CHECK (strstr (html, "<meta name=\"x\" content=\"y\"></head>"));
    IH_CHECK (strstr (html, "<a href=\"/\">Home</a>"
                            "<a href=\"/a?b=1&amp;c=2\" class=\"active\">A &amp; B</a>"));
    IH_CHECK (strstr (html, "<main class=\"wrap\">\n<p>content</p>\n</main>\n<footer><div class=\"wrap\">"
                            "<div>foot</div></div></footer>\n</body></html>\n"));
    IH_CHECK (!strstr (html, "<script>"));

    //  An error page replaces whatever was written, and is not cacheable.
    r.etag = true;
    ih_layout_error (&site, &r, 404, "Not found", "no <such> page");
    html = ih_html_cstr (&r.body);
    IH_CHECK (r.status == 404 && !r.etag);
    IH_CHECK (!strstr (html, "<p>content</p>"));
    IH_CHECK (strstr (html, "<p class=\"crumbs\">Error 404</p><h1>Not found</h1><p class=\"lede\">"
                            "no &lt;such&gt; page</p><p><a href=\"/\">Back home</a></p>\n</main>"));

    //  Without a description: a bare shell, no footer, no back link.
    ih_layout_error (NULL, &r, 500, "Internal error", "x");
    html = ih_html_cstr (&r.body);
    IH_CHECK (strstr (html, "Internal error \xc2\xb7 Infohub</title>") && !strstr (html, "<footer>"));
    IH_CHECK (strstr (html, "<nav class=\"main\"></nav>") && !strstr (html, "<p><a"));

    //  Assets: the stylesheet with the front end's rules after it, the icon twice.
    ih_buf_reset (&r.body);
    r.etag = false;
    IH_CHECK (ih_layout_asset (&site, &r, "style.css") && r.etag && streq (r.cache, "public, max-age=86400"));
    html = ih_html_cstr (&r.body);
    IH_CHECK (strncmp (html, ":root{", 6) == 0 && strstr (html, "}\np{color:red}\n"));
    ih_buf_reset (&r.body);
    IH_CHECK (ih_layout_asset (&site, &r, "favicon.ico") && streq (r.ctype, "image/svg+xml"));
    IH_CHECK (strncmp (ih_html_cstr (&r.body), "<svg ", 5) == 0);
    ih_buf_reset (&r.body);
    r.etag = false;
    IH_CHECK (!ih_layout_asset (&site, &r, "robots.txt") && !r.etag && r.body.len == 0);
    ih_buf_free (&r.body);
    if (verbose)
        printf ("    ");
}
#endif
