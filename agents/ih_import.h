/*  ih_import.h: what other platforms or an analyst hold, turned into alert drafts.

    An import reads one input (STIX 2.1, MISP JSON or a MISP feed directory, CSV or free
    text) and hands each alert draft to a callback, which publishes it (infohub-agent
    import) or prints it (--dry-run). A draft is an alert with its id (below) but without
    publisher, signer, revision or times: publishing fills those in. Every IOC value is
    refanged, validated and normalised; a value that fails is counted and reported, never
    published half-right. Nothing that the input holds is dropped silently: what is not
    imported is counted by kind in the report.

    FORMATS
      stix21   a bundle (or a TAXII envelope, an array, one object). One alert per
               report: name, description, labels -> tags, external_references with a
               url -> references, Infohub's own properties (ih_stix_prop: severity,
               category, sectors, recipients, publisher_org), and the IOCs of the
               indicators and vulnerabilities it refers to. Indicators and
               vulnerabilities no report refers to make one more alert per TLP and
               creator (created_by_ref). An object given in several versions (the same
               id) counts in its latest (modified). Patterns: comparisons with '=' joined
               by OR, on ipv4-addr/ipv6-addr/domain-name/url/email-addr:value,
               email-message:from_ref.value, file:hashes.MD5/SHA-1/SHA-256, file:name,
               autonomous-system:number; anything else (AND, other operators, other
               paths, other pattern types) is counted as unsupported.
      misp     {"Event": …}, {"response": [{"Event": …}]} or an array of those: one alert
               per event (info, tags, threat_level_id, distribution, Orgc, attributes and
               object attributes). Types: ip-src/ip-dst (|port), domain, hostname (|port),
               domain|ip, url, email/email-src/email-dst, md5/sha1/sha256, filename and
               filename|hash, vulnerability, AS; link -> references; text "summary" ->
               summary. Other types count as unsupported; deleted attributes are skipped.
               Tags infohub:severity/category/sector/recipient/publisher="…" are read as
               what export writes. A MISP feed directory (what `export --format misp-feed`
               writes, and MISP instances pull): ih_import_run_feed reads manifest.json
               and each <event-uuid>.json it lists.
      csv      RFC 4180 with a header naming at least value (or indicator/ioc); optional
               type (ours or MISP's; guessed when absent), alert_id (groups rows into
               alerts; else title does), title, tlp, severity, category, sectors, tags
               and recipients (';'-separated), org (or publisher: the original
               publisher), comment, detect (or to_ids); revision, created and modified
               (what export writes) are read and ignored.
      text     prose: IOCs found in it, defanged or not (hxxp, [.], (.), [@] …);
               ip:port forms; a domain needs a known public suffix (libpsl) and a
               registrable name, so "invoice.exe" or "e.g" are no domains; names such
               as "update.zip" count as domains only when defanged. Executable-looking
               file names (.exe .dll .ps1 …) become filename IOCs (detect false).
               Plain (not defanged) http(s) URLs are taken for references, the way
               advisories cite sources, unless opts.plain_urls_as_iocs. The title is
               opts.title or the first line; the summary is the text.
    An alert holds at most IH_MAX_IOCS IOCs: a larger one goes out in parts "(part N)".

    IDS. Each draft gets a stable alert id, so that importing the same input twice maps
    each source object to the same alert: the UUIDv5 (ih_stix_uuid5) of
    "import|ORG|FORMAT|SOURCE-ID", ORG the importing org (opts.org: two members importing
    one public feed do not collide), FORMAT the format's name, SOURCE-ID:
      stix21   the report's id; for the indicators of no report, "indicators|TLP|CREATOR|"
               and their ids, sorted (another set of objects is another alert)
      misp     the event's uuid (without one: a digest of the event)
      csv      the alert_id of the rows, else their title, else a digest of the input
      text     a digest of the text
    Part N > 1 of a split alert: the UUIDv5 of "ID|part N". What becomes of a draft whose
    id the store already holds is ih_import_plan's (ih_import_cmd compares, the callback
    publishes).

    AUDIENCE. An import never widens who receives an alert.
    - TLP comes from the input: STIX object_marking_refs (TLP 2.0 and TLP 1.0 marking
      ids, or marking-definition objects of the bundle), MISP tags tlp:*, a CSV tlp
      column, or "TLP:AMBER" written in the text; TLP:WHITE is CLEAR. Several markings on
      one thing: the most restrictive wins.
    - Recipients come from the input too (the STIX recipients property, MISP
      infohub:recipient tags, a CSV recipients column), as far as the TLP allows them
      (none for CLEAR and GREEN, no sector: entries beyond AMBER). A recipient that is no
      org id or sector:S is left out (counted): that narrows. An AMBER alert whose input
      named recipients of which none could be kept is narrowed as below (an empty list
      would mean every member).
    - An audience Infohub cannot express is narrowed to TLP:RED for the importing org
      alone (RED without recipients): a MISP sharing group (distribution 4, a
      sharing_group_id, a SharingGroup), MISP distribution 0 ("your organisation only";
      not in events Infohub exported, recognised by their infohub: tags, where the TLP
      and recipient tags say the audience and distribution 0 only keeps MISP from
      syncing them on), and an AMBER alert whose input cannot say its recipients (an
      Infohub CSV export, recognised by its revision and org columns, without a
      recipients column).
    - An alert without TLP is not imported (counted, with its title in a note).
    - opts.tlp (--tlp) lets the operator choose the TLP of the alerts whose input has none
      or is narrowed; never over a TLP the input expresses.
    Each alert narrowed or not imported is named in a note (opts.note) and counted in the
    report by reason.

    ATTRIBUTION. The original publisher (the STIX report's publisher_org property, else
    the name of its created_by_ref identity; MISP's infohub:publisher tag, else Orgc's
    name; a CSV org or publisher column), when it is not the importing org, stays with
    the alert twice: a tag "source:ORG" (cut to the 64 bytes of a tag) for filters and
    exports, and the first line of the summary, "Originally published by ORG.", for
    readers. It is not added to the recipients: it holds its own alert.

    WARNINGLISTS. An IOC marked for detection whose value is on a warninglist
    (opts.warninglist, ih_warninglist_match) or in a documentation range (RFC 5737
    192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; RFC 3849 2001:db8::/32; for a cidr,
    overlapping one; for a url, its host) gets detect false and "warninglist NAME" or
    "documentation range (RFC N)" appended to its comment ("; " after any comment);
    the report counts them. opts.keep_detect leaves detect as the input says.

    FILES. ih_import.c is the core (the report, the helpers the readers share, the entry
    points); ih_import_draft.c the drafts every reader fills and the IDS, AUDIENCE,
    ATTRIBUTION and WARNINGLISTS rules they go out by; ih_import_stix.c reads stix21
    (Infohub's own properties and the TLP marking ids through ih_stix.h, which writes
    them), ih_import_misp.c misp and MISP feeds, ih_import_text.c csv and free text (with
    ih_extract.h); ih_import_plan.c compares a draft with the store; ih_import_cmd.c is
    the command line. They share the job and the drafts through ih_import_priv.h.
*/
#ifndef IH_IMPORT_H
#define IH_IMPORT_H

#include "ih_msg.h"
#include "ih_store.h"
#include "ih_warninglist.h"

typedef enum { IH_IMPORT_STIX21 = 0, IH_IMPORT_MISP, IH_IMPORT_CSV, IH_IMPORT_TEXT } ih_import_format_t;
#define IH_IMPORT_FORMATS 4

const char *ih_import_format_name(ih_import_format_t f);
int ih_import_format_parse(const char *s, ih_import_format_t *f);

/*  Receives a note on one alert: title (borrowed) and what became of it ("narrowed to
    TLP:RED for bank-b alone: MISP sharing group", "not imported: no TLP marking (give
    --tlp)"). */
typedef void (ih_import_note_fn)(const char *title, const char *what, void *arg);

typedef struct {
    int tlp;                    /* ih_tlp_t for alerts with no TLP, or narrowed (AUDIENCE); -1 = none */
    ih_severity_t severity;     /* when the input has none (default medium) */
    ih_category_t category;     /* when the input has none (default other) */
    const char *title;          /* text: the title; others: when the input has none */
    const char *source;         /* the input's name, for default titles ("FILE") */
    const char *org;            /* the importing org: ids, attribution, notes (NULL: "") */
    const ih_warninglist_t *warninglist;    /* NULL: documentation ranges only */
    bool keep_detect;           /* leave detect as the input says (no WARNINGLISTS) */
    bool plain_urls_as_iocs;    /* text */
    ih_import_note_fn *note;    /* may be NULL */
    void *note_arg;
} ih_import_opts_t;

void ih_import_opts_init(ih_import_opts_t *opts);

/*  What became of a draft handed to the callback. */
typedef enum {
    IH_IMPORT_NEW = 0,          /* published as a new alert (revision 1) */
    IH_IMPORT_REVISED,          /* published as the next revision of the alert imported before */
    IH_IMPORT_UNCHANGED,        /* imported before with the same content: nothing published */
    IH_IMPORT_KNOWN,            /* unchanged too: the broker holds it, the agent's store not yet */
    IH_IMPORT_REFUSED           /* not imported (the callback says why); the import goes on */
} ih_import_outcome_t;
#define IH_IMPORT_OUTCOMES 5

#define IH_IMPORT_KINDS 24
#define IH_IMPORT_REASONS 8
typedef struct {
    char what [128];
    uint64_t count;
} ih_import_count_t;

typedef struct {
    uint64_t alerts;            /* drafts handed to the callback */
    uint64_t iocs;              /* their IOCs */
    uint64_t outcome [IH_IMPORT_OUTCOMES];  /* by outcome; REFUSED includes the alerts
                                   the import itself refused (no TLP), not handed out */
    uint64_t narrowed;          /* alerts narrowed (AUDIENCE) */
    uint64_t detect_off;        /* IOCs on a warninglist or in a documentation range */
    uint64_t invalid;           /* values that did not validate */
    uint64_t duplicates;        /* the same IOC twice in one alert: kept once */
    char first_invalid [200];   /* the first such error */
    ih_import_count_t skipped [IH_IMPORT_KINDS];    /* what was not imported, by kind
                                   ("relationship", "MISP attribute type regkey" …; the
                                   last slot: "other") */
    ih_import_count_t refused [IH_IMPORT_REASONS];  /* alerts not imported, by reason */
    ih_import_count_t narrow [IH_IMPORT_REASONS];   /* alerts narrowed, by reason */
} ih_import_report_t;

/*  Receives each draft (its id set, revision 1, no times): returns the outcome
    (ih_import_outcome_t; with IH_IMPORT_REFUSED, why says why in a few words), or -1 to
    stop the import (why says why). The draft is the importer's: the callback may set its
    revision and times and publish it; copy what you keep. */
typedef int (ih_import_alert_fn)(ih_msg_t *draft, void *arg, ih_err_t *why);

/*  Imports len bytes of data. report is zeroed first. Returns 0 (whatever was skipped or
    refused, which the report lists), or -1 with err: unreadable input ("stix21: not JSON:
    … line 3"), a draft that does not validate, or the callback stopped it ("stopped
    after 2 alerts: …"). */
int ih_import_run(ih_import_format_t format, const char *data, size_t len, const ih_import_opts_t *opts,
                  ih_import_alert_fn *fn, void *arg, ih_import_report_t *report, ih_err_t *err);

/*  Imports the MISP feed in directory dir: manifest.json, then each <event-uuid>.json
    it lists, in its order (at most 64 MiB each). A listed event without its file, an
    event file that is not JSON and a manifest key that is no event uuid are counted in
    the report and the import goes on; files the manifest does not list are not read.
    Returns as ih_import_run; -1 too when the manifest is missing or not a manifest. */
int ih_import_run_feed(const char *dir, const ih_import_opts_t *opts, ih_import_alert_fn *fn, void *arg,
                       ih_import_report_t *report, ih_err_t *err);

/*  Calls fn with each event uuid a feed manifest (len bytes of JSON: an object keyed by
    event uuid) lists, in its order; keys that are not lower-case UUIDs are counted in
    *bad (may be NULL). Returns 0, the first non-zero fn returned, or -1 with err (not
    JSON, not an object). */
typedef int (ih_import_uuid_fn)(const char *uuid, void *arg);
int ih_import_feed_manifest(const char *data, size_t len, ih_import_uuid_fn *fn, void *arg, size_t *bad,
                            ih_err_t *err);

/*  One line describing what the report says was left out of the alerts ("2
    relationship, 1 MISP attribute type regkey; 1 invalid value: …"), "" when nothing. */
void ih_import_report_text(const ih_import_report_t *report, char *out, size_t outsz);

/*  The report in one line: "N new, N revised, N unchanged, N not imported", with the
    reasons in brackets ("1 not imported (1 no TLP marking (give --tlp))"), then "; N
    narrowed (…)", "; N IOCs with detect off (warninglists, documentation ranges)" and
    "; left out: " ih_import_report_text, each when there are any. */
void ih_import_report_line(const ih_import_report_t *report, char *out, size_t outsz);

/*  THE SAME CONTENT (ih_import_plan.c). Two alerts have the same content when their
    title, summary, TLP, severity and category are equal; their recipients, sectors,
    references and tags are the same sets; and their IOCs are the same set of (type,
    value, comment, detect). Order does not count; id, revision, publisher and times do
    not either. */
bool ih_import_same(const ih_msg_t *a, const ih_msg_t *b);

/*  What to do with draft (its id set) given what store holds under its id (store NULL:
    nothing yet), as org, at now (ms):
      IH_IMPORT_NEW        not held: the draft becomes revision 1, created and modified now
      IH_IMPORT_UNCHANGED  held with the same content (ih_import_same)
      IH_IMPORT_REVISED    held with other content: the draft becomes the next revision,
                           created kept, modified now
      IH_IMPORT_REFUSED    held, but retracted since (a retraction stands: an import does
                           not bring the alert back), or held as another org's; why says so
    or -1 with why (the store failed). */
int ih_import_plan(ih_store_t *store, const char *org, ih_msg_t *draft, int64_t now, ih_err_t *why);

/*  Publishes m (id, revision, times set) as this member and prints its id on stdout.
    Returns 0, 1 (the broker refused it: code, 32 bytes, and err hold its answer), or -1
    with err (nothing more can be published: no key, no broker). */
typedef int (ih_import_publish_fn)(ih_msg_t *m, void *arg, char *code, ih_err_t *err);
typedef struct {
    const char *prog;
    const char *org;            /* the importing member's org */
    const char *store;          /* its agent's store directory (opened read-only); NULL: none */
    const char *warninglists;   /* agent.cfg's warninglists (NULL: the default places) */
    const char *cfg_path;       /* agent.cfg, which a relative warninglists is resolved against */
    ih_import_publish_fn *publish;
    void *publish_arg;
} ih_import_cmd_cfg_t;
/*  `infohub-agent import --format F [options] FILE|DIR|-` (see --help). Each draft is
    compared with the store (ih_import_plan) and, when new or revised, handed to publish
    (unless --dry-run, which prints it as JSON on a line instead). The broker's
    duplicate-id or stale-revision counts as unchanged (IH_IMPORT_KNOWN: imported before,
    not in the store yet); its other answers about one alert (bad-message, not-owner,
    unknown-alert) as not imported; any other stops the import. On stderr: a note per
    alert narrowed or not imported, then the report line (ih_import_report_line). Returns
    the exit code: 0, or 1 when the input could not be read, nothing was in it, or an
    alert was not imported. */
int ih_import_cmd(const ih_import_cmd_cfg_t *cfg, int argc, char **argv);

void ih_import_test(bool verbose);
void ih_import_stix_test(bool verbose);
void ih_import_misp_test(bool verbose);
void ih_import_text_test(bool verbose);
void ih_import_plan_test(bool verbose);
void ih_import_draft_test(bool verbose);

#endif
