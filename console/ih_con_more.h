/*  ih_con_more.h: the console's other pages: events, members (the roster), downloads
    and the streamed exports.

      GET /events      alerts of category "event" (seminars, workshops): upcoming (by the
                       tag date:YYYY-MM-DD, soonest first) and past; place from place:…,
                       the link is the first reference
      GET /members     the hub's organisations and sectors, from the roster the agent
                       keeps in its store (aux value "roster")
      GET /downloads   every export format with the selection's filters (a GET form)
      GET /export      format=F and the filters of agents/ih_select.h (tlp, tlp_max,
                       category, sector, severity, since, status, type, detect), or id=ID
                       for one alert: streamed from one snapshot of the store (ih_export,
                       through the web layer's ih_req_stream), the detection formats
                       without warninglisted values. The TLP ceiling is AMBER unless the
                       query says (as `infohub-agent export`). At most 4 at once.

    THE ROSTER. ih_con_roster reads the store's aux value "roster", a JSON document the
    agent daemon keeps from the registry's member records. Two shapes are read: {"orgs":
    [{"org", "sector", "members": [...]}], "sectors": [...]} and {"members": [{"name",
    "org", "sector", "role"}]} (or that array alone); the member's own org is always
    listed. Absent, the roster is empty ("available": false) and the forms take typed
    org ids.
*/
#ifndef IH_CON_MORE_H
#define IH_CON_MORE_H

#include "ih_con.h"

void ih_con_events(ih_con_req_t *x);
void ih_con_members(ih_con_req_t *x);
void ih_con_downloads(ih_con_req_t *x);
void ih_con_export(ih_con_req_t *x);

/*  {"available": bool, "orgs": [{"org", "sector", "members": [{"name", "role"}]}] sorted
    by org, "sectors": ["..."] sorted}. New reference; never NULL. */
json_t *ih_con_roster(ih_con_req_t *x);
/*  A <datalist id=ID> of the roster's sectors. */
void ih_con_sector_datalist(ih_con_req_t *x, const char *id);

void ih_con_more_test(bool verbose);

#endif
