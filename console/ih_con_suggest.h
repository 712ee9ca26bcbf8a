/*  ih_con_suggest.h: the text analytics in the console (issue 13, "Where it shows"): the
    share form's suggestions from the agent's model (agents/ih_model.h), and the related
    alerts of an alert page and of a draft (agents/ih_related.h). The paste step's
    indicators come from ih_extract_run with the warninglists (ih_con_share.c).

    THE MODEL is the file the daemon trains beside the store (STORE/model). The console
    reads it at start, and again when ih_model_changed says the daemon wrote another
    (asked at most every IH_CON_ANALYTICS_CHECK_MS, by the request that finds the time
    has come). A prediction holds the model it started with until it is done, so a swap
    never frees a model in use. No model (none yet, or a stale one) is a normal state:
    the form says "no suggestions yet", and nothing waits for one.

    THE SUGGESTIONS on the share form, asked on its Extract and Preview steps (not on
    Send: what is sent is what the form shows). The draft is ih_con_share.c's JSON
    object; this module keeps its own keys in it: "auto" (which of category and
    severity are still automatic), "secc" and "tagc" (the sector and tag candidates
    offered: label, p, suggested; a tag's source, model or text, and whether it is
    ticked) and "sugg" (the model's answer: state ok, none with why, or empty).
      - category and severity: a field still at its automatic value (the form's default,
        or an earlier suggestion the user left as it was: the hidden auto_category and
        auto_severity fields say what was shown) takes the top candidate the model stands
        behind (suggested); the other candidates are listed beside it, not chosen;
      - sectors: a candidate the model stands behind is ticked the first time it is
        offered; others are offered unticked; once offered (the hidden secc fields) the
        user's ticks decide;
      - tags: each candidate is a checkbox (tagpick), ticked the first time when the model
        stands behind it or when the text names it (an ATT&CK technique id found by the
        extraction); once offered (tagc) the user's ticks decide. Ticked ones are sent
        with the typed tags.
    Each is marked as a suggestion with its probability ("suggested 92 %"), so nothing is
    taken for the user's own choice.

    THE RELATED INDEX (STORE/related) is opened read-only once it is there (tried again at
    most every IH_CON_ANALYTICS_CHECK_MS until it is). Every hit is checked against this
    member's store before it is shown (a retracted alert is left out until the index
    catches up). The index's map is a fixed virtual size that its writer never grows,
    so its readers never adopt a new map under each other (ih_store.c's map gate is for
    the store's).

    Threading: one ih_con_analytics_t for the console, shared by its HTTP threads: a mutex
    guards the swap and the lazy opening; predictions and queries run outside it, each
    with the calling thread's own tokeniser.
*/
#ifndef IH_CON_SUGGEST_H
#define IH_CON_SUGGEST_H

#include "ih_con.h"
#include "ih_model.h"
#include "ih_related.h"

#define IH_CON_ANALYTICS_CHECK_MS   5000    /* how often the model file and the index are looked at */
#define IH_CON_RELATED_SHOWN        8       /* related alerts an alert page lists */

/*  Opens what there is of the analytics of the store in store_dir (nothing is required).
    Never NULL. */
ih_con_analytics_t *ih_con_analytics_new(const char *store_dir);
/*  Frees; safe twice; nulls *self_p. Call once no request runs. */
void ih_con_analytics_destroy(ih_con_analytics_t **self_p);

/*  One candidate of a field, its label copied (a model swapped meanwhile is no matter). */
typedef struct {
    char label [IH_MAX_SHORT + 1];
    double p;
    bool suggested;             /* the model stands behind it (its label's threshold) */
} ih_con_guess_t;

typedef struct {
    ih_con_guess_t top [IH_MODEL_FIELDS][IH_MODEL_TOP];
    size_t ntop [IH_MODEL_FIELDS];
    int64_t trained_ms;         /* the model's */
    size_t alerts;              /* it was trained on */
} ih_con_suggestions_t;

/*  The model's candidates for len bytes of text (title, summary and pasted text) with
    IOCs of the types in ioc_types (bits per ih_ioc_type_t). Returns true with out
    filled, or false with why (size bytes: "no model yet: …") when there is no model. */
bool ih_con_suggest(ih_con_analytics_t *self, const char *text, size_t len, uint32_t ioc_types,
                    ih_con_suggestions_t *out, char *why, size_t size);

/*  The related alerts of indexed alert id, or of a draft: as ih_related_for_alert and
    ih_related_query, 0 when there is no index yet. */
int ih_con_related_alert(ih_con_analytics_t *self, const char *id, ih_related_hit_t *out, size_t max,
                         ih_err_t *err);
int ih_con_related_draft(ih_con_analytics_t *self, const ih_related_query_t *q, ih_related_hit_t *out,
                         size_t max, ih_err_t *err);

/* ---- the share form ---------------------------------------------------------------------- */
/*  Reads the suggestion fields of a POSTed share form into the draft d (auto_*, secc,
    tagc, tagpick). */
void ih_con_suggest_from_form(ih_con_req_t *x, json_t *d);
/*  A fresh form's draft: category and severity automatic, no candidates yet. */
void ih_con_suggest_fresh(json_t *d);
/*  Asks the model about the draft's text and merges its suggestions into d as the top
    of this file says (only what is still automatic or new changes); the reason when
    there are none goes into d too, for the form to say. */
void ih_con_suggest_draft(ih_con_req_t *x, json_t *d);
/*  Adds an ATT&CK technique id named in the text as a tag candidate (ticked when new). */
void ih_con_suggest_technique(json_t *d, const char *id);
/*  The tags the user ticked among the candidates, appended to tags (a JSON array of
    strings; no duplicates). */
void ih_con_suggest_tags(json_t *d, json_t *tags);

/*  Parts of the form, all escaped. field "status": the Suggestions row (the model's
    size and date, or why there are none: "No suggestions yet: …"); "category" or
    "severity": after that select, its hidden auto_ field when the value is automatic
    and the candidates, the pre-selected one marked "suggested". */
void ih_con_suggest_field(ih_con_req_t *x, json_t *d, const char *field);
/*  The mark after the checkbox of a sector the model offered ("suggested 88 %", "41 %"). */
void ih_con_suggest_sector_mark(ih_con_req_t *x, json_t *d, const char *sector);
/*  The sector candidates not among the sectors shown (a JSON array of strings), as more
    checkboxes, and the hidden secc fields of every candidate. */
void ih_con_suggest_sector_extra(ih_con_req_t *x, json_t *d, json_t *shown);
void ih_con_suggest_tag_row(ih_con_req_t *x, json_t *d);

/* ---- related alerts --------------------------------------------------------------------------- */
/*  Renders up to IH_CON_RELATED_SHOWN of hits that this member's store holds and that
    are not retracted (skip: an id to leave out, may be NULL), as a list under title
    (escaped); nothing when none is left. Returns how many were listed. */
int ih_con_related_list(ih_con_req_t *x, const char *title, const ih_related_hit_t *hits, int n,
                        const char *skip);

void ih_con_suggest_test(bool verbose);

#endif
