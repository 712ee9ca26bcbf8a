/*  ih_feed.h: /feed.atom, the latest 50 advisories as an Atom 1.0 feed (RFC 4287): one
    entry per alert (id urn:uuid:ID, published/updated, author = the publishing org,
    categories, the summary rendered from Markdown as escaped HTML content). */
#ifndef IH_FEED_H
#define IH_FEED_H

#include "ih_gw.h"

void ih_feed_atom(ih_req_t *r);

#endif
