/*  ih_json.h: the user-facing JSON form of DESIGN.md, with jansson, both ways.

    Input (CLI, imports):  {"title", "summary", "tlp", "severity", "category", "sectors",
      "recipients", "references", "tags", "iocs": [{"type","value","comment","detect"}]}
    IOC values are refanged and normalised on input; "detect" defaults to true, "comment"
    to "". Unknown keys are rejected ("unknown field 'x'"), so typos are not silently lost.
    Output adds: "id", "revision", "seq", "created", "modified" (RFC 3339 UTC with ms),
    "publisher": {"org", "member"}, "status" ("active" | "retracted"), and for other
    kinds "kind", "ref", "text", "count". JSON -> ih_msg_t -> msgpack -> ih_msg_t -> JSON is
    lossless: ih_msg_from_json accepts the output keys too.
*/
#ifndef IH_JSON_H
#define IH_JSON_H

#include <jansson.h>
#include "ih_msg.h"

/*  What the store knows about a message beyond its signed body. */
typedef struct {
    uint64_t seq;               /* broker sequence number; 0 = unknown (not emitted) */
    bool retracted;             /* status "retracted" instead of "active" */
    uint32_t revisions;         /* how many revisions were seen; 0 = not emitted */
    uint32_t sightings;         /* total sightings; emitted only when > 0 */
} ih_json_meta_t;

/*  Builds the JSON object (new reference, caller owns). meta may be NULL. */
json_t *ih_msg_to_json(const ih_msg_t *m, const ih_json_meta_t *meta);
/*  Same, dumped compactly with JSON_COMPACT|JSON_ENSURE_ASCII... as a malloc'd string. */
char *ih_msg_to_json_str(const ih_msg_t *m, const ih_json_meta_t *meta);

/*  Fills m (initialised by the call, kind from "kind" or alert) from a JSON object.
    Fields absent in input keep the defaults of ih_msg_init (id "", revision 1 …).
    Validates types, enums, limits and IOCs; errors name the field:
    "iocs[1].value: invalid domain 'a..b': empty label". Does not call ih_msg_validate
    (the caller adds id/publisher first). meta, if not NULL, receives seq/status. */
int ih_msg_from_json(ih_msg_t *m, const json_t *j, ih_json_meta_t *meta, ih_err_t *err);
/*  Parses text first; errors include jansson's line and column. */
int ih_msg_from_json_str(ih_msg_t *m, const char *text, size_t len, ih_json_meta_t *meta, ih_err_t *err);

void ih_json_test(bool verbose);

#endif
