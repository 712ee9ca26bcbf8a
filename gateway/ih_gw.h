/*  ih_gw.h: the Public Zone as a front end of the web layer (web/): the gateway's shared
    state, what the public may see, and its site (routes and page shell) on the server.

    LAYERING. web/ (ih_http, ih_html, ih_layout, ih_svg, ih_metrics) is generic and knows
    nothing of the gateway. This module is the gateway's side of it: ih_gw_t reaches the
    handlers as the request's app (ih_gw_of), the store as the server's per-thread value
    (ih_gw_store), and ih_gw_serve registers the route table. The route modules (ih_pages,
    ih_api, ih_feed, ih_taxii) include this header and web/'s, never one another's; only
    ih_gw.c, which routes to them, includes theirs. The subscriber (ih_sync) writes the
    state; main_gateway.c owns it.

      /, /index.html, /alerts/ID, /search, /trends        ih_pages (HTML errors)
      /static/style.css, /static/icon.svg, /favicon.ico, /robots.txt
      /feed.atom                                          ih_feed
      /api/v1/alerts, /api/v1/alerts/ID                   ih_api (JSON errors)
      /export/csv, /export/stix21                         ih_api (JSON errors)
      /taxii2/...                                         ih_taxii (TAXII errors, Accept)
      /healthz, /metrics                                  here (JSON errors)

    CACHES. A page that lists alerts (/, deeper pages, filters, /search) is rendered from
    the store's indexes on every miss of the server's response cache (web/ih_http.c: that
    one is keyed by the whole URI and dropped at every commit). What made such a render
    slow was the same work redone for every alert on it: the strict decode of its body
    and the Markdown of its summary. So the gateway keeps two caches, both keyed by what
    names their inputs exactly, so that nothing needs invalidating and nothing stale can
    be served (ih_cache.h, KEYS NAME CONTENT):
      alerts  decoded alerts (ih_store_cache), for every walk and ih_store_get_with of
              the HTTP threads: the key is the alert, the seq of its latest revision and
              its signature, so a revision is a new key; a retraction changes the alert
              record's status, which is read from the store at every request, never
              cached. At most IH_GW_ALERT_CACHE bytes.
      frags   rendered HTML: an alert's card in a list, its summary's Markdown; the key
              (ih_gw_frag_key) is the kind of piece, the alert, the seq of its latest
              revision, that revision's number and whether it is retracted: everything
              a piece is rendered from. At most IH_GW_FRAG_CACHE bytes.
    Least recently used entries go first when a cache is full.

    Threading: the state's atomics are written by the subscriber thread and read by the
    HTTP threads; the rest is set before ih_gw_serve and read only after. The caches are
    thread-safe (ih_cache.h).
*/
#ifndef IH_GW_H
#define IH_GW_H

#include <stdatomic.h>

#include "ih_added.h"
#include "ih_cache.h"
#include "ih_http.h"
#include "ih_layout.h"
#include "ih_related.h"
#include "ih_store.h"

/*  The records a page's walk of the store reads at most (ih_store_walk_t budget): with
    filters or words that rarely meet, a page shows what it found within it and offers
    to go on from there, so that no request reads in proportion to the store. */
#define IH_GW_WALK_BUDGET   20000

/*  The bounds of the gateway's two caches (CACHES below), in bytes. */
#define IH_GW_ALERT_CACHE   (32u << 20)
#define IH_GW_FRAG_CACHE    (16u << 20)

/*  The one public TAXII collection (ih_taxii serves it; the pages link to it). */
#define IH_GW_COLLECTION "5e4f2c8a-61b7-4c3e-9d0a-7f3b1e6c2a94"

/*  The running gateway, shared by the subscriber and the HTTP threads. */
typedef struct {
    const char *title;              /* site name on every page */
    char base_url [256];            /* absolute URL prefix for feeds (no trailing '/') */
    ih_store_t *store;              /* the subscriber's writer: readers share its env */
    ih_added_t *added;              /* TAXII date-added log */
    ih_related_t *related;          /* related advisories (ih_related.h): kept by the
                                       subscriber, read by the pages; NULL when it could
                                       not be opened (the pages then show none) */
    int64_t started_ms;
    const char *broker_endpoint;
    ih_layout_t layout;             /* the page shell (ih_gw_serve fills it) */
    ih_cache_t *alerts;             /* decoded alerts of the HTTP threads' store handles */
    ih_cache_t *frags;              /* rendered pieces of pages (ih_gw_frag_key) */

    /* written by the subscriber thread */
    _Atomic uint64_t gen;           /* bumped after every commit (store, TAXII log) */
    _Atomic uint64_t head;          /* the broker's head (welcome, pong) */
    _Atomic uint64_t owed;          /* the last seq the broker holds for the gateway (TLP:CLEAR) */
    _Atomic bool connected;
    _Atomic uint64_t stored;        /* items stored since start */
    _Atomic uint64_t refused;       /* items refused as not TLP:CLEAR */
    _Atomic uint64_t rejected;      /* items that failed verification */
    _Atomic int64_t last_commit_ms; /* wall clock of the last commit, 0 = none */

    /* the store's health (ih_gw_storage_*): any thread writes it, under a lock of its own */
    _Atomic bool storage_bad;
    char storage_why [300];
    _Atomic bool write_failing;             /* the last batch could not be stored */
    char write_why [256];
    _Atomic int64_t storage_checked_ms;     /* the scrub's last clean pass, wall clock */
} ih_gw_t;

/*  The gateway a request is for (r->app). */
ih_gw_t *ih_gw_of(ih_req_t *r);
/*  This thread's read handle on the store (an ih_store_share of gw->store, made on first
    use; the server frees it when it stops). Borrowed. */
ih_store_t *ih_gw_store(ih_req_t *r);

/*  The store's health, for /healthz: a read that failed (a damaged page), a batch the
    store refused (a full disk), or the scrub's damage (ih_sync: the subscriber checks
    the whole store in the background) make /healthz answer 503 with why, until the
    scrub finds the store sound again (ih_gw_storage_good). Any thread; one line logged
    per interval (ih_log_limited). */
void ih_gw_storage_bad(ih_gw_t *gw, const char *why);
void ih_gw_storage_good(ih_gw_t *gw);
/*  After each round of the subscriber: why the last batch could not be stored (a full
    disk), or NULL when it was (which clears it at once). */
void ih_gw_storage_write(ih_gw_t *gw, const char *why);
/*  True when sound; else why (size bytes) says what went wrong. */
bool ih_gw_storage_ok(ih_gw_t *gw, char *why, size_t size);
/*  A route could not read the store: ih_gw_storage_bad with the store's error. */
void ih_gw_store_failed(ih_req_t *r, const char *why);

/*  What the public may see: TLP:CLEAR alerts, whatever the store holds. The subscriber
    refuses anything else; every route checks again (defence in depth). */
bool ih_gw_visible(const ih_msg_t *m);

/*  A key for gw->frags: kind (a short tag, "card", "summary") and the alert as info says
    it is now (id, seq of the latest revision, revision, retracted). Returns its length. */
#define IH_GW_FRAG_KEY_MAX  (16 + IH_UUID_LEN + 8 + 4 + 1)
size_t ih_gw_frag_key(uint8_t key [IH_GW_FRAG_KEY_MAX], const char *kind, const ih_store_alert_t *info);

/*  Fills gw->layout from gw->title, makes the caches when gw has none, and starts the web server on cfg (its front-end part
    is set here: name "gateway", the state, generation, store handles, HTML errors) with
    the gateway's routes. NULL with err ("cannot listen on ..."). Stop it with
    ih_http_destroy before the store closes, then free the caches with ih_gw_release. */
ih_http_t *ih_gw_serve(ih_gw_t *gw, const ih_http_cfg_t *cfg, ih_err_t *err);
/*  Frees the caches ih_gw_serve made, once no server uses them; safe twice. */
void ih_gw_release(ih_gw_t *gw);

#ifdef IH_SELFTEST
/*  Self-tests only: gw zeroed, then a gateway state over a new temporary directory (its
    path in dir, for ih_tk_rmtree): a writer store of map bytes in DIR/store and the TAXII
    log in DIR/store/taxii, titled title, its base URL http://127.0.0.1. */
void ih_gw_test_open(ih_gw_t *gw, const char *title, const char *name, uint64_t map, char dir [256]);
#endif
void ih_gw_test(bool verbose);

#endif
