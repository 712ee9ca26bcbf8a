/*  ih_import_priv.h: the inside of an import, shared by the files of the import module and
    by nothing else. Only ih_import.c (the core), ih_import_stix.c (stix21),
    ih_import_misp.c (misp) and ih_import_text.c (csv, free text) include it; every other
    caller goes through ih_import.h.

    The core owns the job (the options, the report, the callback) and the drafts: every
    value a reader finds goes through ih_import_draft_ioc, the one place that refangs,
    validates, deduplicates and splits an alert at IH_MAX_IOCS; every draft ends in
    ih_import_draft_done, which validates it as it will be published and hands it to the
    callback. A reader turns its input into drafts, and counts what it leaves out with
    ih_import_skip.
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
} ih_import_job_t;

/*  An alert being built. */
typedef struct {
    ih_msg_t m;
    int tlp;                    /* most restrictive seen; -1 = none */
    uint32_t part;
    uint64_t uid;               /* dedup scope: an IOC once per draft, whatever the part */
    char title [IH_MAX_TITLE + 1];
} ih_import_draft_t;

/*  The readers: each turns len bytes of its format into drafts. 0, or -1 with job->err. */
int ih_import_read_stix21(ih_import_job_t *job, const char *data, size_t len);   /* ih_import_stix.c */
int ih_import_read_misp(ih_import_job_t *job, const char *data, size_t len);     /* ih_import_misp.c */
int ih_import_read_csv(ih_import_job_t *job, const char *data, size_t len);      /* ih_import_text.c */
int ih_import_read_text(ih_import_job_t *job, const char *data, size_t len);     /* ih_import_text.c */

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

/*  A new draft with the options' severity and category, no TLP yet, and title (cleaned;
    "Imported alert" when empty). */
void ih_import_draft_init(ih_import_job_t *job, ih_import_draft_t *d, const char *title);
/*  The summary, from len bytes of text (cleaned, multiline). */
void ih_import_draft_summary(ih_import_draft_t *d, const char *text, size_t len);
/*  A TLP the input gives (ih_tlp_t; -1 = none): the most restrictive one wins. */
void ih_import_draft_tlp(ih_import_draft_t *d, int tlp);
/*  A tag, sector (a slug) or reference (an http(s) URL); duplicates are dropped, what does
    not fit or is not valid is counted (ih_import_skip). */
void ih_import_draft_tag(ih_import_job_t *job, ih_import_draft_t *d, const char *tag);
void ih_import_draft_sector(ih_import_job_t *job, ih_import_draft_t *d, const char *sector);
void ih_import_draft_reference(ih_import_job_t *job, ih_import_draft_t *d, const char *url);
/*  An IOC as written in the input (refanged, validated, normalised; an invalid value is
    counted, a duplicate kept once). A draft that reaches IH_MAX_IOCS goes out as a part
    and continues as the next. Returns 0, or -1 when handing out a part stopped the job. */
int ih_import_draft_ioc(ih_import_job_t *job, ih_import_draft_t *d, ih_ioc_type_t t, const char *raw,
                        const char *comment, bool detect);
/*  Ends a draft: when rc is 0, validates it and hands it to the callback (the TLP the
    input gave, else the options'; none fails the job: "no TLP in the input"); then frees
    it. Returns rc, or the result of handing it out. */
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
} ih_import_t_fixture_t;

void ih_import_t_fixture(ih_import_t_fixture_t *g);
/*  Imports text (a C string) with g->o, collecting into g. Returns as ih_import_run. */
int ih_import_t_run(ih_import_t_fixture_t *g, ih_import_format_t format, const char *text);
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
