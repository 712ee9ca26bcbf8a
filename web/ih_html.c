/*  ih_html.c: escaping, URL checks and Markdown for the web layer (see ih_html.h). */
#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>
#include <czmq.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "ih_html.h"

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/*  Decodes one UTF-8 sequence at s (n bytes left). Returns its length and the code point
    in *cp, or 0 for an invalid sequence (overlong, surrogate, > U+10FFFF, truncated). */
static size_t
s_utf8 (const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s [0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; v = c & 0x1f; min = 0x80; }
    else
    if (c >= 0xe0 && c <= 0xef) { len = 3; v = c & 0x0f; min = 0x800; }
    else
    if (c >= 0xf0 && c <= 0xf4) { len = 4; v = c & 0x07; min = 0x10000; }
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s [i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s [i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* ---- escaping --------------------------------------------------------------------------- */

void
ih_html_escn (ih_buf_t *b, const char *s, size_t n)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0, run = 0;     //  bytes [i - run, i) are plain and not yet copied
    ih_buf_reserve (b, n + 16);
    while (i < n) {
        unsigned char c = p [i];
        const char *rep = NULL;
        size_t len = 1;
        if (c >= 0x80) {
            uint32_t cp;
            len = s_utf8 (p + i, n - i, &cp);
            if (len == 0) {
                rep = "\xef\xbf\xbd";
                len = 1;
            }
            else
            if (cp == 0xfffe || cp == 0xffff)
                rep = "";
            else
            if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
                //  A bidirectional override would reorder the rest of the line (an IOC
                //  value keeps it as evidence, ih_msg.h): shown, not obeyed
                static const char *const shown [] = {
                    "&lt;U+202A&gt;", "&lt;U+202B&gt;", "&lt;U+202C&gt;", "&lt;U+202D&gt;",
                    "&lt;U+202E&gt;", "&lt;U+2066&gt;", "&lt;U+2067&gt;", "&lt;U+2068&gt;",
                    "&lt;U+2069&gt;"
                };
                rep = shown [cp <= 0x202e ? cp - 0x202a : 5 + cp - 0x2066];
            }
        }
        else
        switch (c) {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '"': rep = "&quot;"; break;
            case '\'': rep = "&#39;"; break;
            case '\t': case '\n': case '\r': break;
            default:
                if (c < 0x20 || c == 0x7f)
                    rep = "";
        }
        if (rep) {
            if (run)
                ih_buf_append (b, p + i - run, run);
            ih_buf_append (b, rep, strlen (rep));
            run = 0;
        }
        else
            run += len;
        i += len;
    }
    if (run)
        ih_buf_append (b, p + i - run, run);
}

void
ih_html_esc (ih_buf_t *b, const char *s)
{
    if (s)
        ih_html_escn (b, s, strlen (s));
}

void
ih_html_puts (ih_buf_t *b, const char *s)
{
    if (s)
        ih_buf_append (b, s, strlen (s));
}

void
ih_html_urlenc (ih_buf_t *b, const char *s)
{
    static const char hex [] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *) s; p && *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        ||  c == '-' || c == '.' || c == '_' || c == '~')
            ih_buf_append (b, p, 1);
        else {
            char e [3] = { '%', hex [c >> 4], hex [c & 15] };
            ih_buf_append (b, e, 3);
        }
    }
}

void
ih_html_json_esc (ih_buf_t *b, const char *s)
{
    static const char hex [] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *) s;
    size_t n = s ? strlen (s) : 0, i = 0;
    while (i < n) {
        unsigned char c = p [i];
        if (c >= 0x80) {
            uint32_t cp;
            size_t len = s_utf8 (p + i, n - i, &cp);
            if (len == 0) {
                ih_html_puts (b, "\\ufffd");
                i++;
            }
            else {
                ih_buf_append (b, p + i, len);
                i += len;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            char e [2] = { '\\', (char) c };
            ih_buf_append (b, e, 2);
        }
        else
        if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
            //  <, > and & as \u escapes: JSON stays inert if someone embeds it in HTML.
            char e [6] = { '\\', 'u', '0', '0', hex [c >> 4], hex [c & 15] };
            ih_buf_append (b, e, 6);
        }
        else
            ih_buf_append (b, &c, 1);
        i++;
    }
}

bool
ih_html_safe_url (const char *url)
{
    if (!url)
        return false;
    size_t n = strlen (url);
    if (n == 0 || n > 2048)
        return false;
    size_t skip;
    if (strncmp (url, "https://", 8) == 0)
        skip = 8;
    else
    if (strncmp (url, "http://", 7) == 0)
        skip = 7;
    else
        return false;
    if (!url [skip] || url [skip] == '/' || url [skip] == '?' || url [skip] == '#')
        return false;           //  no host
    for (const unsigned char *p = (const unsigned char *) url; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\'
        ||  *p == '`')
            return false;
    return true;
}

/* ---- Markdown ---------------------------------------------------------------------------- */

/*  GitHub-flavoured Markdown: cmark-gfm with its extensions for tables, ~~strikethrough~~,
    autolinks (bare URLs, www., e-mail addresses) and the tag filter. Safe rendering is
    cmark-gfm's default (CMARK_OPT_UNSAFE is never set): raw HTML becomes a comment and
    javascript:, vbscript:, file: and data: links are emptied (data: images aside, which
    s_tidy turns into text). Strikethrough needs two tildes, so "~5 hosts … ~10" stays
    prose. */
#define s_MD_OPTS  (CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE)

static const char *const s_gfm_extensions [] = { "table", "strikethrough", "autolink", "tagfilter" };

static pthread_once_t s_gfm_once = PTHREAD_ONCE_INIT;

/*  The extensions' registry is global and filled without a lock: once, for every thread. */
static void
s_gfm_register (void)
{
    cmark_gfm_core_extensions_ensure_registered ();
}

/*  A parser with the extensions attached. The caller frees it (cmark_parser_free) after
    rendering: the renderer takes the parser's extension list. */
static cmark_parser *
s_gfm_parser (int opts)
{
    pthread_once (&s_gfm_once, s_gfm_register);
    cmark_parser *parser = cmark_parser_new (opts);
    if (!parser)
        abort ();
    for (size_t i = 0; i < sizeof s_gfm_extensions / sizeof s_gfm_extensions [0]; i++) {
        cmark_syntax_extension *ext = cmark_find_syntax_extension (s_gfm_extensions [i]);
        if (!ext || !cmark_parser_attach_syntax_extension (parser, ext))
            abort ();           //  the library is broken: nothing renders safely without it
    }
    return parser;
}

static cmark_node *
s_gfm_parse (cmark_parser *parser, const char *md)
{
    cmark_parser_feed (parser, md, strlen (md));
    cmark_node *doc = cmark_parser_finish (parser);
    if (!doc)
        abort ();
    return doc;
}

/*  Images become links to them: a public page loads nothing from elsewhere (no tracking
    pixel; the CSP would block it anyway and leave a broken image); only http(s) images
    become links, others their text. Links to data: go, images of any type included. */
static void
s_tidy (cmark_node *doc)
{
    cmark_node **nodes = NULL;
    size_t n = 0, cap = 0;
    cmark_iter *it = cmark_iter_new (doc);
    cmark_event_type ev;
    while ((ev = cmark_iter_next (it)) != CMARK_EVENT_DONE) {
        cmark_node *node = cmark_iter_get_node (it);
        cmark_node_type t = cmark_node_get_type (node);
        if (ev == CMARK_EVENT_ENTER && (t == CMARK_NODE_IMAGE || t == CMARK_NODE_LINK)) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                nodes = (cmark_node **) realloc (nodes, cap * sizeof *nodes);
                if (!nodes)
                    abort ();
            }
            nodes [n++] = node;
        }
    }
    cmark_iter_free (it);
    for (size_t i = 0; i < n; i++) {
        cmark_node *node = nodes [i];
        const char *url = cmark_node_get_url (node);
        if (cmark_node_get_type (node) == CMARK_NODE_LINK) {
            if (url && strncasecmp (url, "data:", 5) == 0)
                cmark_node_set_url (node, "");
            continue;
        }
        bool linked = ih_html_safe_url (url);
        cmark_node *repl = cmark_node_new (linked ? CMARK_NODE_LINK : CMARK_NODE_EMPH);
        if (linked) {
            cmark_node_set_url (repl, url);
            cmark_node_set_title (repl, cmark_node_get_title (node));
        }
        cmark_node *child;
        while ((child = cmark_node_first_child (node)) != NULL)
            cmark_node_append_child (repl, child);
        if (!cmark_node_first_child (repl)) {
            cmark_node *text = cmark_node_new (CMARK_NODE_TEXT);
            cmark_node_set_literal (text, "image");
            cmark_node_append_child (repl, text);
        }
        cmark_node_insert_before (node, repl);
        cmark_node_free (node);
    }
    free (nodes);
}

void
ih_html_markdown (ih_buf_t *b, const char *md)
{
    if (!md || !*md)
        return;
    cmark_parser *parser = s_gfm_parser (s_MD_OPTS);
    cmark_node *doc = s_gfm_parse (parser, md);
    s_tidy (doc);
    char *html = cmark_render_html (doc, s_MD_OPTS, cmark_parser_get_syntax_extensions (parser));
    cmark_node_free (doc);
    cmark_parser_free (parser);
    if (!html)
        abort ();
    ih_html_puts (b, html);
    free (html);
}

void
ih_html_md_text (ih_buf_t *b, const char *md, size_t max)
{
    if (!md || !*md || max < 4)
        return;
    cmark_parser *parser = s_gfm_parser (s_MD_OPTS);
    cmark_node *doc = s_gfm_parse (parser, md);
    cmark_iter *it = cmark_iter_new (doc);
    size_t start = b->len;
    bool space = false, full = false;
    cmark_event_type ev;
    while (!full && (ev = cmark_iter_next (it)) != CMARK_EVENT_DONE) {
        cmark_node *node = cmark_iter_get_node (it);
        cmark_node_type t = cmark_node_get_type (node);
        const char *lit = NULL;
        if (ev == CMARK_EVENT_ENTER && (t == CMARK_NODE_TEXT || t == CMARK_NODE_CODE))
            lit = cmark_node_get_literal (node);
        else
        if (t == CMARK_NODE_SOFTBREAK || t == CMARK_NODE_LINEBREAK
        ||  (ev == CMARK_EVENT_EXIT && (t == CMARK_NODE_PARAGRAPH || t == CMARK_NODE_HEADING
                                     || t == CMARK_NODE_ITEM
                                     || streq (cmark_node_get_type_string (node), "table_cell"))))
            space = true;
        if (!lit || !*lit)
            continue;
        if (space && b->len > start)
            ih_buf_append (b, " ", 1);
        space = false;
        size_t n = strlen (lit);
        size_t room = start + max - 3 > b->len ? start + max - 3 - b->len : 0;
        if (n > room) {
            //  Cut at a character boundary, then the ellipsis.
            while (room > 0 && (((unsigned char) lit [room]) & 0xc0) == 0x80)
                room--;
            n = room;
            full = true;
        }
        ih_buf_append (b, lit, n);
        if (full)
            ih_html_puts (b, "\xe2\x80\xa6");
    }
    cmark_iter_free (it);
    cmark_node_free (doc);
    cmark_parser_free (parser);
}

const char *
ih_html_cstr (ih_buf_t *b)
{
    ih_buf_reserve (b, 1);
    b->data [b->len] = 0;
    return (const char *) b->data;
}

/* ---- self-test -------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

static const char *
s_esc (ih_buf_t *b, const char *s)
{
    ih_buf_reset (b);
    ih_html_esc (b, s);
    return ih_html_cstr (b);
}

void
ih_html_test (bool verbose)
{
    ih_buf_t b;
    ih_buf_init (&b);

    //  Escaping: every special character, in text and attributes.
    static const struct { const char *in, *out; } cases [] = {
        { "", "" },
        { "plain text 123", "plain text 123" },
        { "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;" },
        { "\"><img src=x onerror=alert(1)>", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" },
        { "' onmouseover='x", "&#39; onmouseover=&#39;x" },
        { "a&b&amp;", "a&amp;b&amp;amp;" },
        { "tab\there\nline", "tab\there\nline" },
        { "nul\x01\x1f\x7fgone", "nulgone" },
        { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92" },
        { "bad\xff\xfe", "bad\xef\xbf\xbd\xef\xbf\xbd" },
        { "overlong\xc0\xbc", "overlong\xef\xbf\xbd\xef\xbf\xbd" },
        { "surrogate\xed\xa0\x80", "surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "truncated\xe2\x82", "truncated\xef\xbf\xbd\xef\xbf\xbd" },
        { "nonchar\xef\xbf\xbe.", "nonchar." },
        { "invoice\xe2\x80\xae" "fdp.exe", "invoice&lt;U+202E&gt;fdp.exe" },
        { "\xe2\x81\xa6" "a\xe2\x81\xa9\xe2\x80\x8f", "&lt;U+2066&gt;a&lt;U+2069&gt;\xe2\x80\x8f" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        const char *got = s_esc (&b, cases [i].in);
        if (verbose)
            printf ("\n    esc [%zu] -> %s", i, got);
        IH_CHECK (streq (got, cases [i].out));
    }
    //  NULL is nothing; escn stops at n.
    IH_CHECK (streq (s_esc (&b, NULL), ""));
    ih_buf_reset (&b);
    ih_html_escn (&b, "<ab>", 2);
    IH_CHECK (streq (ih_html_cstr (&b), "&lt;a"));

    //  URL encoding and JSON strings.
    ih_buf_reset (&b);
    ih_html_urlenc (&b, "a b&c=d/\xc3\xa9~");
    IH_CHECK (streq (ih_html_cstr (&b), "a%20b%26c%3Dd%2F%C3%A9~"));
    ih_buf_reset (&b);
    ih_html_json_esc (&b, "q\"\\\n</script>\xff");
    IH_CHECK (streq (ih_html_cstr (&b), "q\\\"\\\\\\u000a\\u003c/script\\u003e\\ufffd"));

    //  Link checks.
    IH_CHECK (ih_html_safe_url ("https://www.cisa.gov/advisory?a=1#x"));
    IH_CHECK (ih_html_safe_url ("http://example.org"));
    IH_CHECK (!ih_html_safe_url ("javascript:alert(1)"));
    IH_CHECK (!ih_html_safe_url ("JAVASCRIPT:alert(1)"));
    IH_CHECK (!ih_html_safe_url ("data:text/html,<script>"));
    IH_CHECK (!ih_html_safe_url ("https://"));
    IH_CHECK (!ih_html_safe_url ("https:///path"));
    IH_CHECK (!ih_html_safe_url ("https://a b"));
    IH_CHECK (!ih_html_safe_url ("https://a\"onclick=x"));
    IH_CHECK (!ih_html_safe_url ("//evil.example/"));
    IH_CHECK (!ih_html_safe_url (""));
    IH_CHECK (!ih_html_safe_url (NULL));

    //  Markdown: formatting kept, raw HTML and script links gone.
    ih_buf_reset (&b);
    ih_html_markdown (&b, "**bold** <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
                          "[click](javascript:alert(1)) [ok](https://example.org/) "
                          "<javascript:alert(2)> ![i](data:text/html;base64,PHNjcmlwdD4=)");
    const char *html = ih_html_cstr (&b);
    if (verbose)
        printf ("\n    markdown -> %s", html);
    IH_CHECK (strstr (html, "<strong>bold</strong>"));
    IH_CHECK (!strstr (html, "<script"));
    IH_CHECK (!strstr (html, "<img src=\"x\""));
    IH_CHECK (!strstr (html, "onerror"));
    IH_CHECK (!strstr (html, "href=\"javascript"));
    IH_CHECK (!strstr (html, "src=\"data:text/html"));
    IH_CHECK (strstr (html, "&lt;script&gt;") || strstr (html, "<!-- raw HTML omitted -->"));
    IH_CHECK (strstr (html, "href=\"https://example.org/\""));
    IH_CHECK (!strstr (html, "<img"));

    //  Images are links, never loaded.
    ih_buf_reset (&b);
    ih_html_markdown (&b, "![pixel](https://tracker.example/p.png \"t\") ![](https://x.example/a.png)");
    html = ih_html_cstr (&b);
    if (verbose)
        printf ("\n    images -> %s", html);
    IH_CHECK (!strstr (html, "<img"));
    IH_CHECK (strstr (html, "<a href=\"https://tracker.example/p.png\" title=\"t\">pixel</a>"));
    IH_CHECK (strstr (html, "<a href=\"https://x.example/a.png\">image</a>"));
    //  Images only from http(s): a data: or relative image is text, not a link.
    ih_buf_reset (&b);
    ih_html_markdown (&b, "![png](data:image/png;base64,iVBORw0KGgo=) ![rel](/etc/passwd)");
    html = ih_html_cstr (&b);
    if (verbose)
        printf ("\n    image urls -> %s", html);
    IH_CHECK (!strstr (html, "<img") && !strstr (html, "data:") && !strstr (html, "href=\"/etc"));
    IH_CHECK (strstr (html, "png") && strstr (html, "rel"));
    ih_buf_reset (&b);
    ih_html_markdown (&b, "");
    ih_html_markdown (&b, NULL);
    IH_CHECK (b.len == 0);

    //  GitHub-flavoured: tables, strikethrough, autolinks; still no raw HTML, and the
    //  autolinks obey the same link rules.
    ih_buf_reset (&b);
    ih_html_markdown (&b, "| IOC | Role |\n|:---|---:|\n| `evil.example` | C2 |\n| 192.0.2.1 | <b>x</b> |\n\n"
                          "~~false positive~~ see https://www.cisa.gov/kev and www.first.org or "
                          "soc@bank-a.example\n\n<title>t</title><style>p{}</style>\n\n"
                          "javascript:alert(1) www.x.example/<script>");
    html = ih_html_cstr (&b);
    if (verbose)
        printf ("\n    gfm -> %s", html);
    IH_CHECK (strstr (html, "<table>") && strstr (html, "<th align=\"left\">IOC</th>"));
    IH_CHECK (strstr (html, "<td align=\"left\"><code>evil.example</code></td>"));
    IH_CHECK (strstr (html, "<td align=\"right\">C2</td>"));
    IH_CHECK (strstr (html, "<del>false positive</del>"));
    IH_CHECK (strstr (html, "<a href=\"https://www.cisa.gov/kev\">https://www.cisa.gov/kev</a>"));
    IH_CHECK (strstr (html, "<a href=\"http://www.first.org\">www.first.org</a>"));
    IH_CHECK (strstr (html, "<a href=\"mailto:soc@bank-a.example\">"));
    IH_CHECK (!strstr (html, "<b>x</b>") && !strstr (html, "<title") && !strstr (html, "<style"));
    IH_CHECK (!strstr (html, "<script") && !strstr (html, "href=\"javascript"));

    //  Plain text of a table: its cells, apart.
    ih_buf_reset (&b);
    ih_html_md_text (&b, "| a | b |\n|---|---|\n| c | ~~d~~ |", 100);
    if (verbose)
        printf ("\n    table text -> %s", ih_html_cstr (&b));
    IH_CHECK (streq (ih_html_cstr (&b), "a b c d"));

    //  Plain text of Markdown, cut on a character boundary.
    ih_buf_reset (&b);
    ih_html_md_text (&b, "# Title\n\nSome **bold** and `code`.\n\n- one\n- two", 200);
    if (verbose)
        printf ("\n    md_text -> %s", ih_html_cstr (&b));
    IH_CHECK (streq (ih_html_cstr (&b), "Title Some bold and code. one two"));
    ih_buf_reset (&b);
    ih_html_md_text (&b, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);
    IH_CHECK (streq (ih_html_cstr (&b), "\xc3\xa9\xc3\xa9\xe2\x80\xa6"));
    ih_buf_reset (&b);
    ih_html_md_text (&b, "<b>raw</b> text", 100);
    IH_CHECK (strstr (ih_html_cstr (&b), "text"));

    //  printf beyond the small buffer.
    ih_buf_reset (&b);
    ih_buf_printf (&b, "%0300d", 7);
    IH_CHECK (b.len == 300 && ih_html_cstr (&b) [299] == '7');

    ih_buf_free (&b);
    if (verbose)
        printf ("\n    ");
}
#endif
