/*  ih_layout.h: the page shell every front end shares (web/): the HTML head, a header
    with the site's name and navigation, the main column, a footer; the one stylesheet
    and the icon; and error pages in the same shell. Plain HTML and CSS, no JavaScript
    (the server's Content-Security-Policy allows no script).

    A front end describes its site once in an ih_layout_t (name, navigation, footer, what
    its pages add to <head>) and passes it to every call; its pages write their content
    between ih_layout_begin and ih_layout_end. The stylesheet and icon are served by the
    front end's routes for /static/style.css, /static/icon.svg (and /favicon.ico) through
    ih_layout_asset: the shell links to those paths.

    Escaping: titles, the site name, navigation labels and links, and error texts are data
    (escaped); head, footer and css are the front end's trusted literals, appended as they
    are.

    Threading: stateless; the layout is read only: share one between threads.
*/
#ifndef IH_LAYOUT_H
#define IH_LAYOUT_H

#include "ih_http.h"

typedef struct {
    const char *href;               /* "/search" */
    const char *label;              /* "Search" */
} ih_layout_link_t;

typedef struct {
    const char *site;               /* site name: brand and <title> suffix (NULL = "Infohub") */
    const char *home;               /* where the brand links (NULL = "/") */
    const ih_layout_link_t *nav;    /* navigation, in order (nnav links) */
    int nnav;
    const char *head;               /* trusted markup at the end of <head> (NULL = none) */
    const char *footer;             /* trusted markup inside the footer (NULL = no footer) */
    const char *back;               /* error pages: a link home with this text (NULL = none) */
    const char *css;                /* trusted rules after the stylesheet's (NULL = none) */
} ih_layout_t;

/*  Starts an HTML page in r: Content-Type, the head (title " · " site), the header with
    the navigation (the link whose href equals `active` highlighted; NULL = none), and
    opens the main column. */
void ih_layout_begin(const ih_layout_t *self, ih_req_t *r, const char *title, const char *active);
/*  Closes the main column, appends the footer, ends the page. */
void ih_layout_end(const ih_layout_t *self, ih_req_t *r);
/*  Replaces r's body by an error page: status, not cacheable, title and detail (escaped),
    and the link back home. Fits an ih_http_cfg_t html_error (through a front end's
    callback that names its layout). */
void ih_layout_error(const ih_layout_t *self, ih_req_t *r, int status, const char *title,
                     const char *detail);
/*  Serves an asset named by the last part of a path: "style.css", "icon.svg",
    "favicon.ico" (the icon), cacheable for a day. Returns false, leaving r as it was,
    for any other name. */
bool ih_layout_asset(const ih_layout_t *self, ih_req_t *r, const char *name);

void ih_layout_test(bool verbose);

#endif
