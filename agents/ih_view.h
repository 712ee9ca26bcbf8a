/*  ih_view.h: a stored alert as the agent shows it (`list --json`, `show`, the on-alert
    hook's stdin, `search`), built from the store (ih_store.h) in one place so that every
    output agrees.

    The object is the user-facing alert JSON (ih_msg_to_json) of the latest revision with
    the store's meta: "seq" (the latest revision's), "status" ("active" | "retracted"),
    "revisions" (how many were seen), "sightings" (when > 0), and "retracted": true on
    each IOC retracted on its own (or all of them when the alert is). With
    IH_VIEW_DETAILS it also carries, each only when not empty, in this order:
      "retractions":   [retraction JSON (ih_msg_to_json, with "seq")], oldest first
      "comments":      [comment JSON, with "seq"], oldest first
      "ioc_sightings": [{"type", "value", "count", "reports"}] for the alert's IOCs that
                       were sighted (any member's sighting of that value, whatever alert
                       it cites)
    Without details (and for an alert with none) the object reads back with
    ih_msg_from_json; the detail keys are the agent's, not the alert's, so
    ih_view_strip removes them before a `show --json` output is published again.
*/
#ifndef IH_VIEW_H
#define IH_VIEW_H

#include <jansson.h>
#include "ih_store.h"

#define IH_VIEW_DETAILS  1

/*  The object for an alert the caller holds (m and info from an ih_store_foreach
    callback or ih_store_get: info carries the retracted IOCs). Never fails for the
    base object; details that cannot be read are left out. New reference. */
json_t *ih_view_alert(ih_store_t *store, const ih_msg_t *m, const ih_store_alert_t *info,
                      unsigned flags);

/*  Reads alert id and builds its object into *out. Returns 1, 0 when the store does not
    hold it, -1 with err. */
int ih_view_get(ih_store_t *store, const char *id, unsigned flags, json_t **out, ih_err_t *err);

/*  Removes the detail keys (above) from an object, so that it reads as an alert again. */
void ih_view_strip(json_t *o);

void ih_view_test(bool verbose);

#endif
