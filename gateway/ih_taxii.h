/*  ih_taxii.h: a read-only TAXII 2.1 server under /taxii2/ (OASIS TAXII 2.1 CS01).

      /taxii2/                                   discovery
      /taxii2/api/                               the API root
      /taxii2/api/collections/                   one collection, public
      /taxii2/api/collections/ID/
      /taxii2/api/collections/ID/objects/        added_after, limit, next, match[id|type|
                                                 version|spec_version]
      /taxii2/api/collections/ID/objects/OBJ/    one object (the same filters)
      /taxii2/api/collections/ID/objects/OBJ/versions/
                                                 {"more", "versions": [modified, ...]}:
                                                 every version, by date added; added_after,
                                                 limit, next, match[spec_version]
      /taxii2/api/collections/ID/manifest/       same filters as objects/

    Media type application/taxii+json;version=2.1 on every answer; an Accept header that
    admits neither it nor application/taxii+json (nor * / *) gets 406. Object lists are
    sorted by the date the gateway added each object (ih_added.h), oldest first, and carry
    X-TAXII-Date-Added-First / -Last. Pagination: `next` is an opaque token naming the
    position after the last object returned (date of its log entry, index inside it);
    walking with it visits every object exactly once.

    Objects are the STIX 2.1 objects of each active alert (report, indicators,
    vulnerabilities: ih_stix.h, as the agent's stix21 export has them, without the IOCs
    retracted one by one) plus the shared ones (publisher identities, the TLP:CLEAR marking
    definition), which the log adds once, with the first alert that needs them (ih_sync.h).

    VERSIONS. Every revision of an alert the store kept (agents/ih_store.h, revisions) is
    a version of its objects, built from that revision's body and added to the log when
    the revision came. The collection's objects are those of each alert's latest revision
    (an indicator a revision dropped is in it no more, in no version); the versions of
    one are its modified timestamps over the revisions that carry it, each served once,
    at the entry of the latest revision that carries it. match[version]: last (the
    default), first, all, or an exact modified timestamp; several values are OR'ed. A
    shared object has one version. Revisions that came before the store kept them (a
    store upgraded from format 1) are not versions: the latest is.

    WHAT A REQUEST READS. added_after and next seek into the log by date. match[type]
    leaves out the entries that cannot hold a wanted type without reading the store (an
    alert's entry holds reports, indicators and vulnerabilities; a shared one, its own
    type); match[id] and an object's own URL read only the entries of the alerts that
    hold the ids (a report names its alert; the log's objects index knows the others:
    ih_added.h), between the first and the last of their dates.
*/
#ifndef IH_TAXII_H
#define IH_TAXII_H

#include <jansson.h>

#include "ih_gw.h"

#define IH_TAXII_MEDIA  "application/taxii+json;version=2.1"
#define IH_STIX_MEDIA   "application/stix+json;version=2.1"

/*  The id of the one public collection (a constant UUID). */
const char *ih_taxii_collection_id(void);

/*  rest: the path after "/taxii2" ("/", "/api/collections/..."). */
void ih_taxii_handle(ih_req_t *r, const char *rest);
/*  The TAXII 2.1 error message resource (title, http_status, description), the error
    body of the TAXII routes (an ih_http_error_fn). */
void ih_taxii_error(ih_req_t *r, int status, const char *reason, const char *msg);

/*  True when an Accept header value admits the TAXII 2.1 media type (NULL or empty
    admits everything). Parameters and q-values are honoured (q=0 refuses). */
bool ih_taxii_accept_ok(const char *accept);


void ih_taxii_test(bool verbose);

#endif
