/*  ih_con_alerts.h: the console's home page and alert list.

      GET /          what is new since the user's last login, by TLP and severity (links
                     to the list), the newest of it, the latest discussion (from the
                     store's log), the agent daemon's state (ping), and a warning when
                     someone tried to reuse one of the user's codes
      GET /alerts    every alert the member holds, at every TLP, newest first, 50 a page
                     (?before=SEQ). Filters (agents/ih_select.h, read by ih_select_from):
                     tlp, category, sector, severity (at least), since, status, type; and
                     q, the search box (agents/ih_find.h: an IOC value, with CIDR
                     containment and parent domains, or every word), whose hits the
                     filters then narrow (100 at most)

    A page's walk of the store is bounded (IH_CON_WALK_BUDGET): a filter that rarely
    meets offers to go on from where the walk stopped.
*/
#ifndef IH_CON_ALERTS_H
#define IH_CON_ALERTS_H

#include "ih_con.h"

void ih_con_home(ih_con_req_t *x);
void ih_con_alerts(ih_con_req_t *x);

/*  The alert table's head, and one row of it (a retracted alert is marked). */
void ih_con_alert_thead(ih_buf_t *b);
void ih_con_alert_row(ih_buf_t *b, const ih_msg_t *m, const ih_store_alert_t *info);

#endif
