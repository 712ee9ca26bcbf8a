/*  ih_con_share.h: sharing in the console: a new alert, or a new revision of one of the
    member's own (publisher and up).

      GET  /share               an empty form; ?revise=ID fills it from the alert held
      POST /share  action=      preview: the summary rendered (ih_html_markdown) and what
                                would be sent (audience, indicators)
                                extract: the indicators and references in the pasted text
                                (agents/ih_extract.h: refanged, normalised), each shown
                                with its warninglist hit (agents/ih_warninglist.h), to be
                                reviewed: a hit is left unticked
                                send: the alert JSON (ih_msg_from_json checks it first,
                                so a mistake is named before anything leaves) goes to the
                                daemon (op publish with the author); on success, the alert
                                page (303)

    The form: title, summary (Markdown), TLP with the recipients picked from the roster's
    orgs and sectors (ih_con_more.h) or typed, severity, category, sectors, tags,
    references (one a line), an event's date and place (category event: tags
    "date:YYYY-MM-DD" and "place:…", the link as the first reference), the reviewed
    indicators (ticked rows) and indicators typed one a line ("[type] value [# comment]").
    Every step shows the whole form again with what was typed; a stale form does too.
*/
#ifndef IH_CON_SHARE_H
#define IH_CON_SHARE_H

#include "ih_con.h"

void ih_con_share(ih_con_req_t *x);

#endif
