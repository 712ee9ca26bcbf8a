/*  ih_html.h: the web layer's output helpers, for every front end (web/). Every byte of
    data that reaches a page, a feed or an attribute goes through ih_html_esc (docs/ARCHITECTURE.md
    invariant 8); templates are literals appended with ih_html_puts. Markdown is
    GitHub-flavoured (cmark-gfm: tables, strikethrough, autolinks), rendered with raw HTML
    suppressed and unsafe links dropped (cmark-gfm's safe default).

    Escaping rules (ih_html_esc): & < > " ' become entities, so the result is safe in
    element content and in a quoted attribute, in HTML and in XML (Atom); invalid UTF-8
    becomes U+FFFD; C0 controls other than tab, LF and CR, and DEL, are dropped (XML 1.0
    forbids them), as are the non-characters U+FFFE/U+FFFF. The bidirectional embeddings,
    overrides and isolates (U+202A..U+202E, U+2066..U+2069), which messages refuse in
    their texts but IOC values keep as evidence (proto/ih_msg.h), are shown as
    "<U+202E>", never obeyed: they cannot reorder the rest of a line.

    Threading: stateless; every function may be called from any thread.
*/
#ifndef IH_HTML_H
#define IH_HTML_H

#include "ih_util.h"

/*  Appends s (NUL-terminated; NULL appends nothing) escaped. */
void ih_html_esc(ih_buf_t *b, const char *s);
/*  Same for n bytes of s. */
void ih_html_escn(ih_buf_t *b, const char *s, size_t n);
/*  Appends a trusted literal as it is (templates only, never data). */
void ih_html_puts(ih_buf_t *b, const char *s);
/*  (printf output that is trusted, numbers and literals: ih_buf_printf, ih_util.h) */
/*  Appends s percent-encoded for a URL query component (RFC 3986 unreserved kept). */
void ih_html_urlenc(ih_buf_t *b, const char *s);
/*  Appends the bytes as a JSON string body (no quotes): for hand-written JSON. */
void ih_html_json_esc(ih_buf_t *b, const char *s);

/*  True when url may become an href: http or https, a host, no whitespace or control
    characters, at most 2048 bytes. Anything else is shown as text. */
bool ih_html_safe_url(const char *url);

/*  Renders Markdown md to HTML with cmark-gfm and its table, strikethrough (two tildes:
    ~~x~~), autolink and tagfilter extensions, in its safe mode (CMARK_OPT_UNSAFE never
    set; UTF-8 validated): raw HTML becomes a comment; javascript:, vbscript:, file: and
    data: links are emptied; autolinks obey the same rules. Images are never loaded:
    each becomes a link to it when its URL is http(s) (ih_html_safe_url), its text
    otherwise. Appends the HTML. */
void ih_html_markdown(ih_buf_t *b, const char *md);
/*  Appends the plain text of Markdown md (text, code; line breaks, blocks and table
    cells as spaces), cut at a character boundary to at most max bytes with an ellipsis;
    NOT escaped: pass it through ih_html_esc. */
void ih_html_md_text(ih_buf_t *b, const char *md, size_t max);

/*  NUL-terminates b (without counting the NUL in len) and returns its data. */
const char *ih_html_cstr(ih_buf_t *b);

void ih_html_test(bool verbose);

#endif
