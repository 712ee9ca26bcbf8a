/*  ih_con_more.h: the console's other pages: events, members (the roster), downloads
    and the streamed exports.

      GET /events      alerts of category event (seminars, workshops; PROTOCOL.md 5.3),
                       read with ih_msg_event: upcoming (soonest first; an all-day event
                       until its day ends) and past (newest first), each with its date
                       and start time (UTC), place, organiser and link; a retracted one
                       shows as cancelled, one without a valid date tag in a list of its
                       own
      GET /members     the hub's organisations, their agents and the sectors, from the
                       roster the agent daemon keeps in its store (agents/ih_roster.h)
      GET /downloads   every export format with the selection's filters (a GET form)
      GET /export      format=F and the filters of agents/ih_select.h (tlp, tlp_max,
                       category, sector, severity, since, status, type, detect), or id=ID
                       for one alert: streamed from one snapshot of the store (ih_export,
                       through the web layer's ih_req_stream), the detection formats
                       without warninglisted values. The TLP ceiling is AMBER unless the
                       query says (as `infohub-agent export`). At most 4 at once.

    THE ROSTER. ih_con_roster reads the member records the daemon stored (ih_roster_load:
    as the registry signed them, each verified by the daemon against the registry key it
    pinned; the public gateway's identity left out); the member's own org and sector are
    always listed. Before the daemon has stored one ("available": false) the forms take
    typed org ids.
*/
#ifndef IH_CON_MORE_H
#define IH_CON_MORE_H

#include "ih_con.h"

void ih_con_events(ih_con_req_t *x);
void ih_con_members(ih_con_req_t *x);
void ih_con_downloads(ih_con_req_t *x);
void ih_con_export(ih_con_req_t *x);

/*  {"available": bool, "updated": ms, "orgs": [{"org", "sector", "members": [{"name",
    "role"}]}] sorted by org, "sectors": ["..."] sorted}. New reference; never NULL. */
json_t *ih_con_roster(ih_con_req_t *x);
/*  A <datalist id=ID> of the roster's sectors. */
void ih_con_sector_datalist(ih_con_req_t *x, const char *id);

void ih_con_more_test(bool verbose);

#endif
