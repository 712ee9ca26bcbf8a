/*  ih_con_alert.h: one alert in the console, and what a member does with it.

      GET  /alerts/ID   the alert: badges, facts, who receives it (TLP and recipients),
                        the summary (ih_html_markdown), the IOC table with each IOC's
                        sightings ("seen N times in R reports, last …"), warninglist hits
                        and a "seen in our network" button, the revision history with what
                        changed between revisions (ih_store_revisions_foreach), the
                        retractions, the discussion (comments with author, org and time)
                        and a reply form, export links; for a publisher of the alert's
                        org, revise and retract
      POST /comment     ref, text: a comment (the daemon's op comment); analyst and up
      POST /sighting    ref, type, value: "seen in our network" (op sighting, count 1, at
                        the alert's TLP, GREEN at least); analyst and up
      POST /retract     ref, reason, ioc=TYPE VALUE... or whole=1 (op retract); publisher

    An action that the daemon accepted goes to the alert with a notice (303): it shows
    in the page once the agent has stored what the broker delivered back. A refusal
    (the daemon's or the broker's, one line) shows the page again with what was typed.
*/
#ifndef IH_CON_ALERT_H
#define IH_CON_ALERT_H

#include "ih_con.h"

void ih_con_alert(ih_con_req_t *x);
void ih_con_comment(ih_con_req_t *x);
/*  A stale comment form: the alert again, the text typed in the reply box. */
void ih_con_comment_form(ih_con_req_t *x);
void ih_con_sighting(ih_con_req_t *x);
void ih_con_retract(ih_con_req_t *x);

#endif
