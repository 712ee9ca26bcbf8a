/*  ih_json.h: the user-facing alert JSON (README.md "Running an agent"), with jansson, both ways.

    Input (CLI, imports):  {"title", "summary", "tlp", "severity", "category", "sectors",
      "recipients", "references", "tags", "iocs": [{"type","value","comment","detect"}]}
    tlp, severity and category are read in any case ("amber", "High", "Data-Leak") and
    written in their canonical form (ih_msg.h names).
    IOC values are refanged and normalised on input; "detect" defaults to true (false in
    a retraction, whose IOCs carry no flag), "comment" to "". Unknown keys are rejected
    ("unknown field 'x'"), so typos are not silently lost; so are keys that do not belong
    to the kind ("title: not allowed for kind comment").
    Output adds: "id", "revision", "seq", "created", "modified" (RFC 3339 UTC with ms),
    "publisher": {"org", "member"}, "signer" (64 hex digits), "author" (the display
    name of the person who wrote it, when the message names one), "status" ("active" |
    "retracted"), "revisions", "sightings", "retracted": true on an alert's IOC that was
    retracted on its own (meta.ioc_retracted; the key is absent otherwise), and for other
    kinds "kind", "ref", "text", "count". JSON -> ih_msg_t -> msgpack -> ih_msg_t -> JSON is lossless:
    ih_msg_from_json accepts the output keys too.

    Output key order (stable, for diffs and JSON lines):
      alert:   id, revision, seq, created, modified, publisher, signer, author, status, title,
               summary, tlp, severity, category, sectors, recipients, references, tags,
               iocs, revisions, sightings
      others:  kind, id, [revision], seq, created, modified, publisher, signer, author,
               ref, text (retraction, comment), iocs (retraction, sighting),
               tlp, count (sighting)
    Keys unset in a draft are left out: id when "", created/modified when 0, publisher
    when org and member are "", signer when all zero, author when "", ref when "",
    revision of a non-alert when 0, seq/status/revisions/sightings per meta (below).
    Input treats an absent key as that same default.
*/
#ifndef IH_JSON_H
#define IH_JSON_H

#include <jansson.h>
#include "ih_msg.h"

/*  A JSON text bigger than this is refused before parsing: a signed body is at most
    IH_MAX_FRAME bytes, and JSON escaping can grow a string about sixfold. */
#define IH_JSON_MAX_TEXT    (8 * IH_MAX_FRAME)
/*  An IOC value before refanging may be longer than its normal form ("[dot]" -> "."),
    but not without bound. */
#define IH_JSON_MAX_RAW_IOC (8 * IH_MAX_IOC_VALUE)

/*  What the store knows about a message beyond its signed body. */
typedef struct {
    uint64_t seq;               /* broker sequence number; 0 = unknown (not emitted) */
    bool retracted;             /* status "retracted" instead of "active" */
    uint32_t revisions;         /* how many revisions were seen; 0 = not emitted */
    uint32_t sightings;         /* total sightings; emitted only when > 0 */
    const bool *ioc_retracted;  /* alert: ioc_count flags, "retracted": true on each IOC
                                   flagged; NULL = none. ih_msg_from_json sets it (to an
                                   array in m's arena) when an input IOC says so */
} ih_json_meta_t;

/*  Builds the JSON object (new reference, caller owns: json_decref). meta may be NULL:
    then no seq, status, revisions or sightings. Never fails (aborts on out-of-memory);
    a broken message still prints: invalid UTF-8 bytes become U+FFFD, out-of-range
    enums null. */
json_t *ih_msg_to_json(const ih_msg_t *m, const ih_json_meta_t *meta);
/*  Same, dumped on one line (JSON_COMPACT | JSON_ENSURE_ASCII) as a malloc'd string:
    the caller frees it with free(). */
char *ih_msg_to_json_str(const ih_msg_t *m, const ih_json_meta_t *meta);

/*  Fills m (initialised by the call, kind from "kind" or alert) from a JSON object.
    m is initialised even on error, and then empty: free it with ih_msg_free in both
    cases. Fields absent in input keep the defaults of ih_msg_init (id "", revision 1
    for an alert, 0 otherwise …). Required: title, tlp, severity, category for an alert;
    tlp for a sighting (a default would silently decide who sees it).
    Validates types, enums, limits, slugs (sectors, recipients, publisher), UUIDs, times,
    signer hex and IOCs; errors name the field: "iocs[1].value: invalid domain 'a..b':
    empty label". Does not call ih_msg_validate (the caller adds id/publisher first).
    meta, if not NULL, is zeroed and receives seq, status, revisions and sightings. */
int ih_msg_from_json(ih_msg_t *m, const json_t *j, ih_json_meta_t *meta, ih_err_t *err);
/*  Parses text (len bytes, not NUL-terminated; at most 8 MiB; duplicate keys and
    trailing data rejected) first; errors include jansson's line and column. */
int ih_msg_from_json_str(ih_msg_t *m, const char *text, size_t len, ih_json_meta_t *meta, ih_err_t *err);

void ih_json_test(bool verbose);

#endif
