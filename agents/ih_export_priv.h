/*  ih_export_priv.h: the inside of an exporter, shared by the files of the export module
    and by nothing else. Only ih_export.c (the core), ih_export_text.c (csv, jsonl),
    ih_export_stix.c (stix21) and ih_export_misp.c (misp, misp-feed) include it; every
    other caller goes through ih_export.h.

    The core owns the exporter: the output buffer and its sink, the selection of each
    alert's IOCs (opts.sel, the warninglist, retracted IOCs), the counters, and a table
    that gives each format its writer. A writer turns one selected alert into text
    through the output functions below; the detection formats' writer, in the core, hands
    the alert to ih_rules.
*/
#ifndef IH_EXPORT_PRIV_H
#define IH_EXPORT_PRIV_H

#include <czmq.h>
#include <jansson.h>

#include "ih_export.h"
#include "ih_rules.h"

/*  Output is handed to the sink in chunks of about this size. */
#define IH_EXPORT_CHUNK (64 * 1024)

struct ih_export {
    ih_export_format_t format;
    const struct ih_export_writer *writer;
    ih_export_opts_t opts;
    bool detection;
    ih_export_sink_fn *sink;        /* the caller's */
    void *sink_arg;
    ih_export_sink_fn *cur_sink;    /* where ih_export_flush writes now (misp-feed switches files) */
    void *cur_arg;
    ih_buf_t out;
    bool started, finished, failed;
    uint64_t objects;               /* objects written (commas between JSON items) */
    ih_export_stats_t stats;
    ih_ioc_t *sel;                  /* the IOCs selected from the current alert */
    uint32_t nsel, capsel;
    ih_buf_t tmp;                   /* scratch: csv lists, misp names */
    ih_buf_t prefix;                /* csv: the current alert's columns */
    zhashx_t *shared;               /* stix: ids of the shared objects written */
    ih_rules_t *rules;              /* detection formats */
    /* misp-feed */
    char *dir;
    FILE *manifest, *hashes;
    uint64_t manifest_items;
    char marker [4200];
};

/*  What a format does at each step; a NULL step does nothing. The core calls open from
    ih_export_new, begin before the first alert (or at finish when there was none), alert
    for each alert the selection keeps (self->sel [0..nsel) holds its IOCs; a writer counts
    the IOCs it writes in stats.iocs), end and then, after the last flush, close from
    ih_export_finish, and discard from ih_export_destroy (an export never finished). */
typedef struct ih_export_writer {
    int (*open) (ih_export_t *self, const char *dir, ih_err_t *err);
    void (*begin) (ih_export_t *self);
    int (*alert) (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info, ih_err_t *err);
    void (*end) (ih_export_t *self);
    void (*close) (ih_export_t *self);
    void (*discard) (ih_export_t *self);
} ih_export_writer_t;

extern const ih_export_writer_t ih_export_csv_writer;      /* ih_export_text.c */
extern const ih_export_writer_t ih_export_jsonl_writer;    /* ih_export_text.c */
extern const ih_export_writer_t ih_export_stix_writer;     /* ih_export_stix.c */
extern const ih_export_writer_t ih_export_misp_writer;     /* ih_export_misp.c */
extern const ih_export_writer_t ih_export_feed_writer;     /* ih_export_misp.c */

/*  Output (ih_export.c). Nothing fails here: a sink that fails sets self->failed, which
    the core turns into "export: cannot write output". */
/*  Hands what is buffered to the current sink. */
void ih_export_flush(ih_export_t *self);
/*  After appending to self->out directly: flushes once a chunk is full. */
void ih_export_wrote(ih_export_t *self);
void ih_export_put(ih_export_t *self, const void *data, size_t len);
void ih_export_puts(ih_export_t *self, const char *s);
void ih_export_putf(ih_export_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*  s as a JSON string, quoted. Text from the store is valid UTF-8 (the codec checks it), so
    bytes >= 0x80 pass through; controls, quotes and backslashes are escaped. */
void ih_export_json_str(ih_export_t *self, const char *s);
/*  o, compact (JSON_COMPACT), keys in their order. */
void ih_export_json(ih_export_t *self, json_t *o);

#ifdef IH_SELFTEST
/*  What the export self-tests work on (ih_export.c). */
typedef struct {
    /*  Three alerts by bank-a, each with the same eleven IOCs (one of every type; the md5
        without detect; 8.8.8.8 and the empty-file sha256 on the tests' warninglist): an
        AMBER one titled 'Wave, "one"' with recipients bank-b and sector:energy, a RED one
        retracted (its info says so) and a CLEAR one. infos: seq 1..3, revision 2. */
    ih_msg_t msgs [3];
    ih_store_alert_t infos [3];
    ih_export_opts_t o;             /* ih_export_opts_init */
    ih_export_stats_t st;           /* of the last ih_export_t_run */
} ih_export_t_fixture_t;

void ih_export_t_fixture(ih_export_t_fixture_t *f);
void ih_export_t_fixture_free(ih_export_t_fixture_t *f);
/*  Runs one export of the first n alerts with f->o into a string (the caller frees it);
    the stats into f->st. Checks that finish and destroy are safe twice and that bytes
    counts the output. */
char *ih_export_t_run(ih_export_t_fixture_t *f, ih_export_format_t format, int n);
/*  Occurrences of needle in s. */
size_t ih_export_t_count(const char *s, const char *needle);
#endif

#endif
