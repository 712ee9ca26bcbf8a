/*  ih_export.h: alerts out of the store, in the formats firewalls, IDS and SIEMs read.

    STREAMING. An exporter is fed one alert at a time (ih_export_alert, typically from an
    ih_store_foreach walk) and writes as it goes, through a sink callback, in 64 KiB
    chunks. Nothing grows with the number of alerts: a STIX bundle or a MISP response is
    written incrementally (header, objects, footer), never built whole. What it keeps:
    the publisher orgs already given a STIX identity (one per member org), and for
    suricata a fixed 8 MiB bitmap of the sids handed out. The detection formats' text
    comes from ih_rules.

        ih_export_t *x = ih_export_new (IH_EXPORT_STIX21, &opts, ih_export_sink_file, stdout,
                                        NULL, &err);
        ih_store_foreach (store, 0, false, walk, x, &err);   // walk calls ih_export_alert
        ih_export_finish (x, &err);
        ih_export_destroy (&x);

    or in one call: ih_export_store (store, x, &err).

    FILES. ih_export.c is the core (output, sinks, selection, the format table, finish) and
    writes the detection formats through ih_rules.c; ih_export_text.c writes csv and jsonl,
    ih_export_stix.c stix21 (its objects come from ih_stix.h, which TAXII uses too),
    ih_export_misp.c misp and misp-feed; ih_export_cmd.c is the command line. They share
    the exporter's inside through ih_export_priv.h.

    WHAT IS LEFT OUT, in every format: retracted alerts, IOCs retracted one by one, alerts
    and IOCs the selection (opts.sel, ih_select.h) leaves out. The library takes every
    TLP unless opts.sel says otherwise; `infohub-agent export` sets a ceiling of AMBER
    unless given --tlp or --tlp-max (and says what that left out, stats.alerts_above_tlp),
    and the gateway exports CLEAR only. The detection formats (suricata, zeek, rpz, nft,
    plain) also keep only IOCs with the detect flag (MISP's to_ids) and leave out values
    on a warninglist (opts.wl; NULL = none). An alert none of whose IOCs pass an IOC
    filter (types, detect_only, or any detection format) is left out as a whole.

    FORMATS
      csv        RFC 4180, one row per IOC, header first: alert_id, revision, created,
                 modified, org, tlp, severity, category, sectors, tags, title, type,
                 value, comment, detect, recipients (last: empty = every member the TLP
                 allows). Lists are joined with ';'.
      jsonl      one alert a line, the JSON of `list --json`, only the IOCs selected.
      stix21     one bundle, one object a line: the five TLP 2.0 marking-definitions (with
                 the TLP 2.0 extension), an identity per publisher org (before its first
                 report), and per alert a report (id report--<alert id>) whose object_refs
                 are an indicator per IOC and a vulnerability per CVE, which follow it. The
                 objects are ih_stix.h's: ids are UUIDv5 (SHA-1, namespace
                 0a6af582-b9c6-4c87-a210-1bdd44b03d02) of "identity|ORG",
                 "indicator|ALERT-ID|TYPE|VALUE", "vulnerability|ALERT-ID|CVE": a re-export
                 gives the same ids (only the bundle id is new). What STIX has no property
                 for (severity, category, revision, sectors, recipients, publisher on the
                 report; detect on indicators and vulnerabilities) is in the property
                 extension IH_STIX_EXTENSION_ID, whose extension-definition (created by
                 Infohub's own identity) opens every bundle: docs/stix-extension.md. No
                 custom x_ property, so strict consumers take the bundle.
      misp       {"response": [{"Event": …}, …]} (MISP's search output; one event per
                 alert, uuid = alert id; an attribute's uuid is that of the IOC's STIX
                 indicator). Tags: tlp:clear|green|amber|amber+strict|red,
                 infohub:severity="…", infohub:category="…", infohub:sector="…" per sector,
                 infohub:publisher="ORG", infohub:recipient="ORG" or ="sector:S" per
                 recipient (so that an import elsewhere never widens the audience), then
                 the alert's own tags. The summary is a "text" attribute (comment
                 "summary"), references are "link" attributes.
      misp-feed  a directory (opts dir): manifest.json, hashes.csv (md5(value),event uuid
                 for every attribute of every event, text and link ones included), and
                 <event uuid>.json per event; manifest.json is written last (renamed into
                 place) so a MISP pulling the feed never reads a half-written one.
      suricata   one rule per IOC and detection point: ipv4/ipv6/cidr `alert ip [ADDR] any
                 <> any any` (traffic from or to the address, one sid), domains a dns.query
                 and a tls.sni rule (dotprefix + endswith: the domain and its subdomains),
                 urls an http rule on http.host (lower case, exact length, no nocase:
                 Suricata lower-cases that buffer and refuses nocase there) and
                 http.uri.raw. Stable unique sids (ih_rules.h): base 9,000,000 by
                 default, sids in 9,000,000..76,108,863; rev = the alert's revision;
                 msg names the TLP, category, title and value.
      zeek       Intel framework file (#fields indicator indicator_type meta.source
                 meta.desc meta.url): ADDR, SUBNET, DOMAIN, URL (no scheme), EMAIL,
                 FILE_HASH, FILE_NAME.
      rpz        a zone file, names relative to the zone's origin: $TTL, SOA, NS, then
                 "D CNAME ." and "*.D CNAME ." per domain, and an rpz-ip trigger per
                 address or network ("32.7.113.0.203.rpz-ip CNAME ." for 203.0.113.7,
                 "128.1.zz.db8.2001.rpz-ip" for 2001:db8::1: answers holding it).
      nft        `table inet infohub` with sets blocklist_v4 (ipv4_addr) and blocklist_v6
                 (ipv6_addr), flags interval and auto-merge; the sets are flushed and
                 refilled, so `nft -f FILE` replaces their content atomically.
      plain      one value a line.
    IOC types a format cannot express (hashes in suricata, a CVE in nft …) are counted in
    the stats (no_form), never silently lost from the count.
*/
#ifndef IH_EXPORT_H
#define IH_EXPORT_H

#include "ih_select.h"
#include "ih_store.h"
#include "ih_warninglist.h"

typedef enum {
    IH_EXPORT_CSV = 0, IH_EXPORT_JSONL, IH_EXPORT_STIX21, IH_EXPORT_MISP, IH_EXPORT_MISP_FEED,
    IH_EXPORT_SURICATA, IH_EXPORT_ZEEK, IH_EXPORT_RPZ, IH_EXPORT_NFT, IH_EXPORT_PLAIN
} ih_export_format_t;
#define IH_EXPORT_FORMATS 10

/*  "csv", "misp-feed" …; NULL when out of range. */
const char *ih_export_format_name(ih_export_format_t f);
/*  Returns 0 with *f set, or -1. */
int ih_export_format_parse(const char *s, ih_export_format_t *f);
/*  suricata, zeek, rpz, nft, plain. */
bool ih_export_format_detection(ih_export_format_t f);

typedef struct {
    ih_select_t sel;            /* which alerts and IOCs (ih_select.h): status active by
                                   default, so retracted alerts stay out */
    const ih_warninglist_t *wl; /* detection formats leave matches out; NULL = no list */
    uint32_t sid_base;          /* suricata; 0 = IH_RULES_SID_BASE (ih_rules.h) */
    const char *generator;      /* a comment line in headers, e.g. "infohub-agent 0.1"; may be NULL */
} ih_export_opts_t;

/*  Zeroes opts; the selection takes every active alert (ih_select_init). */
void ih_export_opts_init(ih_export_opts_t *opts);

typedef struct {
    uint64_t alerts;            /* alerts written */
    uint64_t iocs;              /* IOCs written (a domain's two suricata rules count once) */
    uint64_t alerts_retracted;  /* left out: retracted alerts */
    uint64_t iocs_retracted;    /* left out: IOCs retracted one by one */
    uint64_t alerts_filtered;   /* left out by the filters (or with no IOC left) */
    uint64_t alerts_above_tlp [IH_TLP_COUNT];
                                /* of those, by TLP: the ones only the TLP ceiling
                                   (sel.tlp_max) left out, which lifting it would take */
    uint64_t iocs_filtered;     /* left out by type / detect filters */
    uint64_t iocs_warninglisted;/* left out: on a warninglist */
    uint64_t iocs_no_form;      /* left out: the format cannot express the type */
    uint64_t bytes;             /* written to the sink */
} ih_export_stats_t;

/*  Receives output: returns 0, or -1 to stop the export (the exporter then fails with
    "export: cannot write output"). */
typedef int (ih_export_sink_fn)(const void *data, size_t len, void *arg);
/*  A sink writing to a FILE * (arg). */
int ih_export_sink_file(const void *data, size_t len, void *arg);
/*  A sink appending to an ih_buf_t * (arg); never fails. */
int ih_export_sink_buf(const void *data, size_t len, void *arg);

typedef struct ih_export ih_export_t;

/*  A new exporter. misp-feed writes into dir (created 0755 when missing; sink unused);
    every other format writes through sink (dir unused). Nothing is written before the
    first ih_export_alert or ih_export_finish. Returns NULL with err. */
ih_export_t *ih_export_new(ih_export_format_t format, const ih_export_opts_t *opts,
                           ih_export_sink_fn *sink, void *sink_arg, const char *dir, ih_err_t *err);
/*  Exports one alert. info may be NULL (then the alert counts as active, none of its
    IOCs retracted); else it tells which IOCs are retracted (ih_store_ioc_retracted), so
    it must come with m (ih_store_get, or the ih_store_foreach callback). Returns 0 or
    -1 with err. */
int ih_export_alert(ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info,
                    ih_err_t *err);
/*  Writes the footer and flushes (misp-feed: closes and renames its files). An export
    with no alert is still a valid file (an empty bundle has its marking definitions).
    Returns 0 or -1 with err. */
int ih_export_finish(ih_export_t *self, ih_err_t *err);
const ih_export_stats_t *ih_export_stats(const ih_export_t *self);
/*  Frees; safe twice; nulls *self_p. An unfinished misp-feed leaves no manifest.json. */
void ih_export_destroy(ih_export_t **self_p);

/*  Walks the whole store (oldest first) through the exporter and finishes it. */
int ih_export_store(ih_store_t *store, ih_export_t *self, ih_err_t *err);

/*  `infohub-agent export …` (see --help). store_dir: the agent's store; warninglists and
    cfg_path as for ih_warninglist_dir. Returns the exit code (0, or 1 with one line on
    stderr). */
typedef struct {
    const char *prog;
    const char *version;
    const char *store_dir;
    const char *cfg_path;
    const char *warninglists;
} ih_export_cmd_cfg_t;
int ih_export_cmd(const ih_export_cmd_cfg_t *cfg, int argc, char **argv);

/*  The UUIDv5 ids and the STIX patterns: ih_stix.h (ih_stix_uuid5, ih_stix_pattern). */

void ih_export_test(bool verbose);
void ih_export_text_test(bool verbose);
void ih_export_stix_test(bool verbose);
void ih_export_misp_test(bool verbose);

#endif
