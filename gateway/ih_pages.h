/*  ih_pages.h: the Public Zone's HTML pages: plain HTML and one stylesheet, no JavaScript,
    in the web layer's shell (web/ih_layout, this site's description in ih_gw.c). Every
    value comes out through ih_html_esc; summaries through cmark-gfm (ih_html_markdown).
    Routed by ih_gw.c; errors are HTML pages (the shell's ih_layout_error).

      /                 the latest advisories, newest first, 20 a page (?before=SEQ,
                        category, sector, severity, since: ih_select_walk)
      /alerts/ID        one advisory: summary, IOCs, references, revisions, sightings
      /search?q=        advisories with every word of q (the store's word index: titles,
                        summaries, textual IOC values), and the IOC index for a value
      /trends           alerts per week by category (?weeks=4..104; the store's weekly
                        counts), inline SVG

    Every page reads about what it shows, not the whole store: deep and filtered pages,
    search and trends go by the store's indexes (ih_store.h, SCHEMA, format 2).
      /static/...       style.css, icon.svg; /favicon.ico; /robots.txt
*/
#ifndef IH_PAGES_H
#define IH_PAGES_H

#include "ih_gw.h"

void ih_pages_index(ih_req_t *r);
void ih_pages_alert(ih_req_t *r, const char *id);
void ih_pages_search(ih_req_t *r);
void ih_pages_trends(ih_req_t *r);
/*  name: "style.css", "icon.svg", "favicon.ico" (the shell's, ih_layout_asset),
    "robots.txt"; 404 otherwise. */
void ih_pages_static(ih_req_t *r, const char *name);

void ih_pages_test(bool verbose);

#endif
