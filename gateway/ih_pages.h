/*  ih_pages.h: the Public Zone's HTML pages: plain HTML and one stylesheet, no JavaScript.
    Every value comes out through ih_html_esc; summaries through cmark (ih_html_markdown).

      /                 the latest advisories, newest first, 20 a page (?before=SEQ)
      /alerts/ID        one advisory: summary, IOCs, references, revisions, sightings
      /search?q=        titles, summaries and IOC values (and the IOC index for a value)
      /trends           alerts per week by category (?weeks=4..104), inline SVG
      /static/...       style.css, icon.svg; /favicon.ico; /robots.txt
*/
#ifndef IH_PAGES_H
#define IH_PAGES_H

#include "ih_http.h"

void ih_pages_index(ih_req_t *r);
void ih_pages_alert(ih_req_t *r, const char *id);
void ih_pages_search(ih_req_t *r);
void ih_pages_trends(ih_req_t *r);
/*  name: "style.css", "icon.svg", "favicon.ico", "robots.txt". */
void ih_pages_static(ih_req_t *r, const char *name);
/*  An error page (status, a title and a detail, both escaped). */
void ih_pages_error(ih_req_t *r, int status, const char *title, const char *detail);

/*  The layout: page head (title escaped, nav with `active` highlighted) and foot. */
void ih_pages_begin(ih_req_t *r, const char *title, const char *active);
void ih_pages_end(ih_req_t *r);

void ih_pages_test(bool verbose);

#endif
