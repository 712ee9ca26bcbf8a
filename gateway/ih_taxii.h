/*  ih_taxii.h: a read-only TAXII 2.1 server under /taxii2/ (OASIS TAXII 2.1 CS01).

      /taxii2/                                   discovery
      /taxii2/api/                               the API root
      /taxii2/api/collections/                   one collection, public
      /taxii2/api/collections/ID/
      /taxii2/api/collections/ID/objects/        added_after, limit, next, match[id|type|
                                                 version|spec_version]
      /taxii2/api/collections/ID/objects/OBJ/    one object (all versions held)
      /taxii2/api/collections/ID/manifest/       same filters

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
