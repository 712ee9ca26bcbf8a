/*  ih_api.h: the JSON API and the bulk exports.

      GET /api/v1/alerts       {"alerts": [...], "next": "TOKEN"|null, "count": n}
            newest first; the selection of `list` and `export` (agents/ih_select.h):
            since=TIME (modified at or after: RFC 3339, a date, or an age such as 24h),
            category=C, sector=S, severity=S (at least), type=T,... (IOC types);
            limit=1..500 (50), next=TOKEN (from the last page). A page may hold fewer
            than limit alerts and still give a next token: filters that rarely meet stop
            a page's walk of the store early (IH_GW_WALK_BUDGET); follow next to go on
      GET /api/v1/alerts/ID    one alert (the alert JSON of proto/ih_json.h), 404 when unknown
      GET /export/csv          every active alert's IOCs as CSV, streamed
      GET /export/stix21       a STIX 2.1 bundle of every active alert, streamed

    A list page reads from `next` down by the store's indexes (ih_select_walk). An export
    streams one snapshot of the store (ih_store_snapshot), taken when the request came:
    each alert once, as it was then, whatever is revised while the stream runs.

    Retracted alerts are left out of lists and exports, retracted IOCs out of everything;
    /api/v1/alerts/ID of a retracted alert says "status": "retracted" with no IOCs.
*/
#ifndef IH_API_H
#define IH_API_H

#include <jansson.h>

#include "ih_gw.h"

void ih_api_alerts(ih_req_t *r);
void ih_api_alert(ih_req_t *r, const char *id);
/*  format: "csv" or "stix21". */
void ih_api_export(ih_req_t *r, const char *format);

/*  The public JSON of an alert: ih_msg_to_json without retracted IOCs (and without any
    IOC when the alert is retracted). Call inside a store callback or after ih_store_get
    on the same handle (retracted IOCs are read from it). New reference. */
json_t *ih_api_alert_json(ih_store_t *store, const ih_msg_t *m, const ih_store_alert_t *info);

void ih_api_test(bool verbose);

#endif
