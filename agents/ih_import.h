/*  ih_import.h: what other platforms or an analyst hold, turned into alert drafts.

    An import reads one input (STIX 2.1, MISP JSON, CSV or free text) and hands each alert
    draft to a callback, which publishes it (infohub-agent import) or prints it
    (--dry-run). A draft is an alert without id, publisher, signer or times: publishing
    fills those in. Every IOC value is refanged, validated and normalised; a value that
    fails is counted and reported, never published half-right. Nothing that the input
    holds is dropped silently: what is not imported is counted by kind in the report.

    TLP comes from the input: STIX object_marking_refs (TLP 2.0 and TLP 1.0 marking ids,
    or marking-definition objects of the bundle), MISP tags tlp:*, a CSV tlp column, or
    "TLP:AMBER" written in the text; TLP:WHITE is CLEAR. Several markings on one thing:
    the most restrictive wins. Where the input says nothing, opts.tlp applies; with none
    the import fails ("no TLP in the input: give --tlp") rather than guess.

    FORMATS
      stix21   a bundle (or a TAXII envelope, an array, one object). One alert per
               report: name, description, labels -> tags, external_references with a
               url -> references, x_infohub_* properties, and the IOCs of the indicators
               and vulnerabilities it refers to. Indicators and vulnerabilities no report
               refers to make one more alert per TLP. Patterns: comparisons with '='
               joined by OR, on ipv4-addr/ipv6-addr/domain-name/url/email-addr:value,
               email-message:from_ref.value, file:hashes.MD5/SHA-1/SHA-256, file:name,
               autonomous-system:number; anything else (AND, other operators, other
               paths, other pattern types) is counted as unsupported.
      misp     {"Event": …}, {"response": [{"Event": …}]} or an array of those: one alert
               per event (info, tags, threat_level_id, attributes and object
               attributes). Types: ip-src/ip-dst (|port), domain, hostname (|port),
               domain|ip, url, email/email-src/email-dst, md5/sha1/sha256, filename and
               filename|hash, vulnerability, AS; link -> references; text "summary" ->
               summary. Other types count as unsupported; deleted attributes are skipped.
      csv      RFC 4180 with a header naming at least value (or indicator/ioc); optional
               type (ours or MISP's; guessed when absent), alert_id (groups rows into
               alerts; else title does), title, tlp, severity, category, sectors and tags
               (';'-separated), comment, detect (or to_ids).
      text     prose: IOCs found in it, defanged or not (hxxp, [.], (.), [@] …);
               ip:port forms; a domain needs a known public suffix (libpsl) and a
               registrable name, so "invoice.exe" or "e.g" are no domains; names such
               as "update.zip" count as domains only when defanged. Executable-looking
               file names (.exe .dll .ps1 …) become filename IOCs (detect false).
               Plain (not defanged) http(s) URLs are taken for references, the way
               advisories cite sources, unless opts.plain_urls_as_iocs. The title is
               opts.title or the first line; the summary is the text.
    An alert holds at most IH_MAX_IOCS IOCs: a larger one goes out in parts "(part N)".

    FILES. ih_import.c is the core (the report, the drafts every reader fills, the entry
    point); ih_import_stix.c reads stix21 (Infohub's own properties and the TLP marking
    ids through ih_stix.h, which writes them), ih_import_misp.c misp, ih_import_text.c csv
    and free text (with ih_extract.h); ih_import_cmd.c is the command line. They share the
    job and the drafts through ih_import_priv.h.
*/
#ifndef IH_IMPORT_H
#define IH_IMPORT_H

#include "ih_msg.h"

typedef enum { IH_IMPORT_STIX21 = 0, IH_IMPORT_MISP, IH_IMPORT_CSV, IH_IMPORT_TEXT } ih_import_format_t;
#define IH_IMPORT_FORMATS 4

const char *ih_import_format_name(ih_import_format_t f);
int ih_import_format_parse(const char *s, ih_import_format_t *f);

typedef struct {
    int tlp;                    /* ih_tlp_t used when the input has none; -1 = fail instead */
    ih_severity_t severity;     /* when the input has none (default medium) */
    ih_category_t category;     /* when the input has none (default other) */
    const char *title;          /* text: the title; others: when the input has none */
    const char *source;         /* the input's name, for default titles ("FILE") */
    bool plain_urls_as_iocs;    /* text */
} ih_import_opts_t;

void ih_import_opts_init(ih_import_opts_t *opts);

#define IH_IMPORT_KINDS 24
typedef struct {
    uint64_t alerts;            /* drafts handed to the callback */
    uint64_t iocs;
    uint64_t invalid;           /* values that did not validate */
    uint64_t duplicates;        /* the same IOC twice in one alert: kept once */
    char first_invalid [200];   /* the first such error */
    struct {
        char what [64];         /* "relationship", "MISP attribute type regkey" … */
        uint64_t count;
    } skipped [IH_IMPORT_KINDS];/* what was not imported, by kind (the last slot: "other") */
} ih_import_report_t;

/*  Receives each draft: returns 0 to go on, anything else to stop the import (the
    callback has said why). The draft is the importer's: copy what you keep. */
typedef int (ih_import_alert_fn)(ih_msg_t *draft, void *arg);

/*  Imports len bytes of data. report is zeroed first. Returns 0 (whatever was skipped,
    which the report lists), or -1 with err: unreadable input ("stix21: not JSON: …
    line 3"), no TLP, or the callback stopped it ("stopped after 2 alerts"). */
int ih_import_run(ih_import_format_t format, const char *data, size_t len, const ih_import_opts_t *opts,
                  ih_import_alert_fn *fn, void *arg, ih_import_report_t *report, ih_err_t *err);

/*  One line describing what the report says was not imported ("2 relationship, 1 MISP
    attribute type regkey; 1 invalid value: …"), "" when nothing was left out. */
void ih_import_report_text(const ih_import_report_t *report, char *out, size_t outsz);

/*  `infohub-agent import --format F [options] FILE|-` (see --help). publish receives each
    draft unless --dry-run, which prints each draft as JSON on a line instead. Returns the
    exit code (0, or 1 with one line on stderr). */
typedef struct {
    const char *prog;
    ih_import_alert_fn *publish;
    void *publish_arg;
} ih_import_cmd_cfg_t;
int ih_import_cmd(const ih_import_cmd_cfg_t *cfg, int argc, char **argv);

void ih_import_test(bool verbose);
void ih_import_stix_test(bool verbose);
void ih_import_misp_test(bool verbose);
void ih_import_text_test(bool verbose);

#endif
