/*  ih_import_priv.h: the inside of an import, shared by the files of the import module and
    by nothing else. Only ih_import.c (the core), ih_import_draft.c (the drafts),
    ih_import_stix.c (stix21), ih_import_misp.c (misp) and ih_import_text.c (csv, free
    text) include it; every other caller goes through ih_import.h.

    The core owns the job (the options, the report, the callback: ih_import.c) and the
    drafts (ih_import_draft.c): every value a reader finds goes through
    ih_import_draft_ioc, the one place that refangs, validates, deduplicates, applies the
    warninglists and splits an alert at IH_MAX_IOCS; every draft ends in
    ih_import_draft_done, which applies the audience and attribution rules (ih_import.h),
    gives it its stable id, validates it as it will be published and hands it to the
    callback. A reader turns its input into drafts (each with the id of its source
    object), says what it knows of the audience and the original publisher, and counts
    what it leaves out with ih_import_skip.
*/
#ifndef IH_IMPORT_PRIV_H
#define IH_IMPORT_PRIV_H

#include <czmq.h>
#include <jansson.h>

#include "ih_import.h"

/*  One import in progress. */
typedef struct {
    const ih_import_opts_t *opts;
    ih_import_report_t *rep;
    ih_import_alert_fn *fn;
    void *arg;
    ih_err_t *err;
    const char *format;         /* its name, which starts error messages */
    zhashx_t *seen;             /* "draft uid|type|value": IOCs already in a draft */
    uint64_t uids;
    bool stopped;
    bool amber_unknown;         /* the input cannot say the recipients of an AMBER alert
                                   (an Infohub CSV export without a recipients column) */
} ih_import_job_t;

/*  An alert being built. */
typedef struct {
    ih_msg_t m;
    int tlp;                    /* most restrictive seen; -1 = none */
    uint32_t part;
    uint64_t uid;               /* dedup scope: an IOC once per draft, whatever the part */
    char title [IH_MAX_TITLE + 1];
    char id [IH_UUID_LEN + 1];  /* the stable id of part 1 */
    char narrow [96];           /* why its audience cannot be expressed; "" when it can */
    bool had_recipients;        /* the input named recipients (kept or not) */
    bool attributed;            /* the attribution is in (once per draft, not per part) */
    bool noted;                 /* its note is out (once per draft) */
    char publisher [IH_MAX_SHORT * 2 + 1];  /* the original publisher, cleaned; "" */
} ih_import_draft_t;

/*  The readers: each turns len bytes of its format into drafts. 0, or -1 with job->err. */
int ih_import_read_stix21(ih_import_job_t *job, const char *data, size_t len);   /* ih_import_stix.c */
int ih_import_read_misp(ih_import_job_t *job, const char *data, size_t len);     /* ih_import_misp.c */
int ih_import_read_misp_feed(ih_import_job_t *job, const char *dir);              /* ih_import_misp.c */
int ih_import_read_csv(ih_import_job_t *job, const char *data, size_t len);      /* ih_import_text.c */
int ih_import_read_text(ih_import_job_t *job, const char *data, size_t len);     /* ih_import_text.c */

/*  Counts one more of what in slots [0..n): its slot, a free one, or the last ("other"). */
void ih_import_count(ih_import_count_t *slots, int n, const char *what);
/*  Counts one thing left out under the kind the format names ("relationship", "MISP
    attribute type regkey"); kinds beyond the report's slots count as "other". */
void ih_import_skip(ih_import_job_t *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*  Copies s into out (outsz >= max + 4): at most max bytes cut at a UTF-8 boundary; bytes
    that are not valid UTF-8 become '?'; control characters become spaces, except \n
    and \t when multiline (\r is dropped); no trailing blanks. */
void ih_import_clean_text(const char *s, size_t len, size_t max, bool multiline, char *out, size_t outsz);

/*  The input as JSON (duplicate keys refused), or NULL with job->err "FORMAT: not JSON: …
    (line N)". The caller decrefs it. */
json_t *ih_import_json(ih_import_job_t *job, const char *data, size_t len);

/*  MISP-style and our own type names to our types ("ip-dst" -> ipv4/ipv6/cidr by the
    value). Returns 0, or -1 for a name that is no IOC type of ours. */
int ih_import_type_for(const char *name, const char *value, ih_ioc_type_t *t);

/*  A new draft with the options' severity and category, no TLP yet, title (cleaned;
    "Imported alert" when empty), and the id of the source object (ih_import.h IDS:
    source is SOURCE-ID, which the format's name and the importing org complete). */
void ih_import_draft_init(ih_import_job_t *job, ih_import_draft_t *d, const char *title, const char *source);
/*  A digest of len bytes (a UUIDv5 of them), for the source ids of what has no id. */
void ih_import_digest(const void *data, size_t len, char out [IH_UUID_LEN + 1]);
/*  The summary, from len bytes of text (cleaned, multiline). */
void ih_import_draft_summary(ih_import_draft_t *d, const char *text, size_t len);
/*  A TLP the input gives (ih_tlp_t; -1 = none): the most restrictive one wins. */
void ih_import_draft_tlp(ih_import_draft_t *d, int tlp);
/*  A tag, sector (a slug) or reference (an http(s) URL); duplicates are dropped, what does
    not fit or is not valid is counted (ih_import_skip). */
void ih_import_draft_tag(ih_import_job_t *job, ih_import_draft_t *d, const char *tag);
void ih_import_draft_sector(ih_import_job_t *job, ih_import_draft_t *d, const char *sector);
void ih_import_draft_reference(ih_import_job_t *job, ih_import_draft_t *d, const char *url);
/*  A recipient the input names: an org id or "sector:S" (kept in the draft as the final
    TLP allows; anything else is counted and left out, which narrows). */
void ih_import_draft_recipient(ih_import_job_t *job, ih_import_draft_t *d, const char *recipient);
/*  The original publisher (an org name as the input writes it; cleaned, one line). */
void ih_import_draft_publisher(ih_import_draft_t *d, const char *org);
/*  Why the input's audience cannot be expressed (ih_import.h AUDIENCE): the draft goes
    out as TLP:RED for the importing org alone, unless the options give a TLP. */
void ih_import_draft_narrow(ih_import_draft_t *d, const char *why);
/*  An IOC as written in the input (refanged, validated, normalised; an invalid value is
    counted, a duplicate kept once; WARNINGLISTS applied to detect). A draft that reaches IH_MAX_IOCS goes out as a part
    and continues as the next. Returns 0, or -1 when handing out a part stopped the job. */
int ih_import_draft_ioc(ih_import_job_t *job, ih_import_draft_t *d, ih_ioc_type_t t, const char *raw,
                        const char *comment, bool detect);
/*  Ends a draft: when rc is 0, applies AUDIENCE and ATTRIBUTION, validates it and hands
    it to the callback (or counts it as not imported: no TLP); then frees it. Returns rc,
    or the result of handing it out (-1 when that stopped the job). */
int ih_import_draft_done(ih_import_job_t *job, ih_import_draft_t *d, int rc);

#ifdef IH_SELFTEST
#include "ih_export.h"

/*  What the import self-tests work with (ih_import.c): options, the report and error of
    the last run, and the drafts it handed out. */
typedef struct {
    ih_import_opts_t o;         /* ih_import_opts_init: no TLP unless the input gives one */
    ih_import_report_t rep;
    ih_err_t err;
    ih_msg_t msgs [8];          /* copies of the drafts */
    int n;
    int stop_after;             /* the callback stops the import after this many; 0 = never */
    char notes [2048];          /* the notes of the last run, one a line: "TITLE: WHAT" */
} ih_import_t_fixture_t;

void ih_import_t_fixture(ih_import_t_fixture_t *g);
/*  Imports text (a C string) with g->o, collecting into g. Returns as ih_import_run. */
int ih_import_t_run(ih_import_t_fixture_t *g, ih_import_format_t format, const char *text);
/*  Imports the MISP feed in dir with g->o, collecting into g. Returns as ih_import_run_feed. */
int ih_import_t_run_feed(ih_import_t_fixture_t *g, const char *dir);
/*  Frees the drafts collected (the options stay); stop_after back to 0. */
void ih_import_t_reset(ih_import_t_fixture_t *g);
/*  Whether m has the IOC (t, value). */
bool ih_import_t_has(const ih_msg_t *m, ih_ioc_type_t t, const char *value);
/*  The report's count of a kind left out. */
uint64_t ih_import_t_skipped(const ih_import_report_t *r, const char *what);
/*  Alert m exported alone in format (a C string the caller frees). */
char *ih_import_t_export(ih_export_format_t format, const ih_msg_t *m);
/*  import (export (x)) keeps every IOC, its detect flag, the TLP, severity, category and
    title: one alert with IOCs of every type, through export format ef and import format inf. */
void ih_import_t_round_trip(ih_export_format_t ef, ih_import_format_t inf);
#endif

#endif
