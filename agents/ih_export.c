/*  ih_export.c: streaming exports (ih_export.h documents the formats).

    Read top to bottom: hashes (MD5 for MISP feeds, UUIDv5: nettle), the output buffer and its
    escapers, selection of alerts and IOCs, one writer per format, the public API, the
    self-test. The command line (`infohub-agent export`) is in ih_export_cmd.c.

    Every writer emits JSON by hand rather than through jansson objects: a million
    indicators then cost one pass of string copies, not a million small trees. The
    escaper (s_json_str) is the one place that makes that safe.
*/
#include <czmq.h>
#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <errno.h>
#include <inttypes.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ih_export.h"
#include "ih_ioc.h"
#include "ih_json.h"
#include "ih_rules.h"

#define s_CHUNK         (64 * 1024)
#define s_IDENTITY_TIME "2020-01-01T00:00:00.000Z"
#define s_MARKING_TIME  "2022-10-01T00:00:00.000Z"
#define s_TLP_EXT       "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#define s_ID_MAX        64          /* "vulnerability--" + uuid */

static const char *s_format_names [IH_EXPORT_FORMATS] = {
    "csv", "jsonl", "stix21", "misp", "misp-feed", "suricata", "zeek", "rpz", "nft", "plain"
};

/*  TLP 2.0 marking definitions (REFERENCE.md; OASIS cti-stix-common-objects). */
static const char *s_tlp_marking [IH_TLP_COUNT] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
};
static const char *s_tlp_lower [IH_TLP_COUNT] = { "clear", "green", "amber", "amber+strict", "red" };

/*  The Infohub UUIDv5 namespace. */
static const uint8_t s_namespace [16] = {
    0x0a, 0x6a, 0xf5, 0x82, 0xb9, 0xc6, 0x4c, 0x87, 0xa2, 0x10, 0x1b, 0xdd, 0x44, 0xb0, 0x3d, 0x02
};

struct ih_export {
    ih_export_format_t format;
    ih_export_opts_t opts;
    bool detection;
    ih_export_sink_fn *sink;        /* the caller's */
    void *sink_arg;
    ih_export_sink_fn *cur_sink;    /* where s_flush writes now (misp-feed switches files) */
    void *cur_arg;
    ih_buf_t out;
    bool started, finished, failed;
    uint64_t objects;               /* objects written (commas between JSON items) */
    ih_export_stats_t stats;
    ih_ioc_t *sel;                  /* the IOCs selected from the current alert */
    uint32_t nsel, capsel;
    char (*ids) [s_ID_MAX];         /* stix: their object ids */
    uint32_t capids;
    ih_buf_t tmp;                   /* scratch: patterns, names */
    ih_buf_t prefix;                /* csv: the current alert's columns */
    zhashx_t *orgs;                 /* stix: identities written */
    ih_rules_t *rules;              /* detection formats */
    /* misp-feed */
    char *dir;
    FILE *manifest, *hashes;
    uint64_t manifest_items;
    char marker [4200];
};

/* ---- hashes ----------------------------------------------------------------------------- */

/*  MD5 (RFC 1321, nettle): MISP feeds index values by it in hashes.csv. */
static void
s_md5 (const uint8_t *msg, size_t len, uint8_t out [16])
{
    struct md5_ctx ctx;
    md5_init (&ctx);
    md5_update (&ctx, len, msg);
    md5_digest (&ctx, MD5_DIGEST_SIZE, out);
}

static void
s_uuid_format (const uint8_t u [16], char out [IH_UUID_LEN + 1])
{
    static const char hex [] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out [o++] = '-';
        out [o++] = hex [u [i] >> 4];
        out [o++] = hex [u [i] & 15];
    }
    out [o] = 0;
}

static void
s_uuid5_ns (const uint8_t ns [16], const char *name, size_t len, char out [IH_UUID_LEN + 1])
{
    struct sha1_ctx ctx;
    sha1_init (&ctx);
    sha1_update (&ctx, 16, ns);
    sha1_update (&ctx, len, (const uint8_t *) name);
    uint8_t h [SHA1_DIGEST_SIZE], u [16];
    sha1_digest (&ctx, sizeof h, h);
    memcpy (u, h, 16);
    u [6] = (uint8_t) ((u [6] & 0x0f) | 0x50);
    u [8] = (uint8_t) ((u [8] & 0x3f) | 0x80);
    s_uuid_format (u, out);
}

void
ih_export_uuid5 (const char *name, size_t len, char out [IH_UUID_LEN + 1])
{
    s_uuid5_ns (s_namespace, name, len, out);
}


/* ---- output ----------------------------------------------------------------------------- */

int
ih_export_sink_file (const void *data, size_t len, void *arg)
{
    FILE *f = (FILE *) arg;
    return fwrite (data, 1, len, f) == len ? 0 : -1;
}

static void
s_flush (ih_export_t *self)
{
    if (self->out.len && !self->failed && self->cur_sink) {
        if (self->cur_sink (self->out.data, self->out.len, self->cur_arg) != 0)
            self->failed = true;
        else
            self->stats.bytes += self->out.len;
    }
    ih_buf_reset (&self->out);
}

static void
s_put (ih_export_t *self, const void *data, size_t len)
{
    ih_buf_append (&self->out, data, len);
    if (self->out.len >= s_CHUNK)
        s_flush (self);
}

static void
s_puts (ih_export_t *self, const char *s)
{
    s_put (self, s, strlen (s));
}

static void
s_putf (ih_export_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_putf (ih_export_t *self, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    ih_buf_vprintf (&self->out, fmt, args);
    va_end (args);
    if (self->out.len >= s_CHUNK)
        s_flush (self);
}

/*  A JSON string, quoted. Text from the store is valid UTF-8 (the codec checks it), so
    bytes >= 0x80 pass through; controls, quotes and backslashes are escaped. */
static void
s_json_strn (ih_buf_t *b, const char *s, size_t n)
{
    static const char hex [] = "0123456789abcdef";
    ih_buf_reserve (b, n + 2);
    b->data [b->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s [i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        ih_buf_append (b, s + run, i - run);
        run = i + 1;
        char esc [8] = { '\\', 0 };
        size_t elen = 2;
        switch (c) {
            case '"':  esc [1] = '"'; break;
            case '\\': esc [1] = '\\'; break;
            case '\n': esc [1] = 'n'; break;
            case '\r': esc [1] = 'r'; break;
            case '\t': esc [1] = 't'; break;
            case '\b': esc [1] = 'b'; break;
            case '\f': esc [1] = 'f'; break;
            default:
                memcpy (esc, "\\u00", 4);
                esc [4] = hex [c >> 4];
                esc [5] = hex [c & 15];
                elen = 6;
        }
        ih_buf_append (b, esc, elen);
    }
    ih_buf_append (b, s + run, n - run);
    ih_buf_append (b, "\"", 1);
}

static void
s_json_str (ih_export_t *self, const char *s)
{
    s_json_strn (&self->out, s, strlen (s));
    if (self->out.len >= s_CHUNK)
        s_flush (self);
}

/*  "key":"value" with a leading comma. */
static void
s_json_kv (ih_export_t *self, const char *key, const char *value)
{
    s_puts (self, ",\"");
    s_puts (self, key);
    s_puts (self, "\":");
    s_json_str (self, value);
}

/*  Whether a CSV field would be read as a formula by a spreadsheet (= + - @, or a tab
    or CR first), or starts with quotes before such a character: it gets a ' in front
    (OWASP, CSV injection), which ih_import's csv reader takes off again. */
static bool
s_csv_formula (const char *s)
{
    while (*s == '\'')
        s++;
    return *s && strchr ("=+-@\t\r", *s) != NULL;
}

/*  A CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; a ' in front
    when it looks like a formula (s_csv_formula). */
static void
s_csv_field (ih_buf_t *b, const char *s, bool last)
{
    bool quote = s_csv_formula (s);
    if (strpbrk (s, ",\"\r\n")) {
        ih_buf_append (b, "\"", 1);
        if (quote)
            ih_buf_append (b, "'", 1);
        for (const char *p = s; *p; ) {
            const char *q = strchr (p, '"');
            size_t n = q ? (size_t) (q - p) + 1 : strlen (p);
            ih_buf_append (b, p, n);
            if (q)
                ih_buf_append (b, "\"", 1);
            p += n;
        }
        ih_buf_append (b, "\"", 1);
    }
    else {
        if (quote)
            ih_buf_append (b, "'", 1);
        ih_buf_append (b, s, strlen (s));
    }
    ih_buf_append (b, last ? "\r\n" : ",", last ? 2 : 1);
}

static void
s_csv_list (ih_export_t *self, ih_buf_t *b, const ih_strlist_t *l)
{
    ih_buf_reset (&self->tmp);
    for (uint32_t i = 0; i < l->count; i++) {
        if (i)
            ih_buf_append (&self->tmp, ";", 1);
        ih_buf_append (&self->tmp, l->items [i], strlen (l->items [i]));
    }
    ih_buf_append (&self->tmp, "", 1);
    s_csv_field (b, (const char *) self->tmp.data, false);
}


/* ---- selection -------------------------------------------------------------------------- */

/*  Fills self->sel; returns false when the alert is to be left out. */
static bool
s_select (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info)
{
    self->nsel = 0;
    if (m->ioc_count > self->capsel) {
        self->capsel = m->ioc_count;
        self->sel = (ih_ioc_t *) realloc (self->sel, self->capsel * sizeof (ih_ioc_t));
        if (!self->sel)
            abort ();
    }
    const ih_select_t *sel = &self->opts.sel;
    bool ioc_filter = sel->types || sel->detect_only || self->detection;
    for (uint32_t i = 0; i < m->ioc_count; i++) {
        const ih_ioc_t *ioc = &m->iocs [i];
        if (info && info->retracted_iocs && ih_store_ioc_retracted (info, ioc)) {
            self->stats.iocs_retracted++;
            continue;
        }
        if (!ih_select_ioc (sel, ioc) || (self->detection && !ioc->detect)) {
            self->stats.iocs_filtered++;
            continue;
        }
        if (self->detection && self->opts.wl && ih_warninglist_match (self->opts.wl, ioc->type, ioc->value)) {
            self->stats.iocs_warninglisted++;
            continue;
        }
        self->sel [self->nsel++] = *ioc;
    }
    return self->nsel > 0 || !ioc_filter;
}

/* ---- csv, jsonl, plain ---------------------------------------------------------------- */

static void
s_csv_begin (ih_export_t *self)
{
    s_puts (self, "alert_id,revision,created,modified,org,tlp,severity,category,sectors,tags,"
                  "title,type,value,comment,detect\r\n");
}

static void
s_csv_alert (ih_export_t *self, const ih_msg_t *m)
{
    char created [IH_TIME_MAX], modified [IH_TIME_MAX], rev [16];
    ih_time_format (m->created, created);
    ih_time_format (m->modified, modified);
    snprintf (rev, sizeof rev, "%u", m->revision);
    //  The alert's columns once, then per IOC that prefix and the IOC's columns.
    ih_buf_t *pre = &self->prefix;
    ih_buf_reset (pre);
    s_csv_field (pre, m->id, false);
    s_csv_field (pre, rev, false);
    s_csv_field (pre, created, false);
    s_csv_field (pre, modified, false);
    s_csv_field (pre, m->org, false);
    s_csv_field (pre, ih_tlp_name (m->tlp), false);
    s_csv_field (pre, ih_severity_name (m->severity), false);
    s_csv_field (pre, ih_category_name (m->category), false);
    s_csv_list (self, pre, &m->sectors);
    s_csv_list (self, pre, &m->tags);
    s_csv_field (pre, m->title, false);
    for (uint32_t i = 0; i < self->nsel; i++) {
        const ih_ioc_t *ioc = &self->sel [i];
        ih_buf_append (&self->out, pre->data, pre->len);
        s_csv_field (&self->out, ih_ioc_type_name (ioc->type), false);
        s_csv_field (&self->out, ioc->value, false);
        s_csv_field (&self->out, ioc->comment, false);
        s_csv_field (&self->out, ioc->detect ? "true" : "false", true);
        if (self->out.len >= s_CHUNK)
            s_flush (self);
        self->stats.iocs++;
    }
}

static void
s_jsonl_alert (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info)
{
    ih_msg_t view = *m;             //  a shallow view with the selected IOCs only
    view.iocs = self->sel;
    view.ioc_count = self->nsel;
    ih_json_meta_t meta;
    memset (&meta, 0, sizeof meta);
    if (info) {
        meta.seq = info->seq;
        meta.revisions = info->revisions;
        meta.sightings = info->sightings > UINT32_MAX ? UINT32_MAX : (uint32_t) info->sightings;
    }
    char *line = ih_msg_to_json_str (&view, &meta);
    s_puts (self, line);
    s_put (self, "\n", 1);
    free (line);
    self->stats.iocs += self->nsel;
}


/* ---- stix 2.1 ------------------------------------------------------------------------- */

int
ih_export_stix_pattern (const ih_ioc_t *ioc, ih_buf_t *out)
{
    const char *path = NULL;
    switch (ioc->type) {
        case IH_IOC_IPV4:     path = "ipv4-addr:value"; break;
        case IH_IOC_IPV6:     path = "ipv6-addr:value"; break;
        case IH_IOC_CIDR:     path = strchr (ioc->value, ':') ? "ipv6-addr:value" : "ipv4-addr:value"; break;
        case IH_IOC_DOMAIN:   path = "domain-name:value"; break;
        case IH_IOC_URL:      path = "url:value"; break;
        case IH_IOC_EMAIL:    path = "email-addr:value"; break;
        case IH_IOC_MD5:      path = "file:hashes.MD5"; break;
        case IH_IOC_SHA1:     path = "file:hashes.'SHA-1'"; break;
        case IH_IOC_SHA256:   path = "file:hashes.'SHA-256'"; break;
        case IH_IOC_FILENAME: path = "file:name"; break;
        case IH_IOC_ASN: {
            const char *v = ioc->value;
            if (strncmp (v, "AS", 2) == 0)
                v += 2;
            ih_buf_append (out, "[autonomous-system:number = ", 28);
            ih_buf_append (out, v, strlen (v));
            ih_buf_append (out, "]", 1);
            return 0;
        }
        default:
            return -1;
    }
    ih_buf_append (out, "[", 1);
    ih_buf_append (out, path, strlen (path));
    ih_buf_append (out, " = '", 4);
    for (const char *p = ioc->value; *p; p++) {
        if (*p == '\'' || *p == '\\')
            ih_buf_append (out, "\\", 1);
        ih_buf_append (out, p, 1);
    }
    ih_buf_append (out, "']", 2);
    return 0;
}

static void
s_identity_id (const char *org, char out [s_ID_MAX])
{
    char name [IH_MAX_SHORT + 16];
    int n = snprintf (name, sizeof name, "identity|%s", org);
    char u [IH_UUID_LEN + 1];
    ih_export_uuid5 (name, (size_t) n, u);
    snprintf (out, s_ID_MAX, "identity--%s", u);
}

/*  The id of the STIX object for an IOC of alert id: an indicator, or a vulnerability
    for a CVE. */
static void
s_ioc_id (ih_export_t *self, const char *alert_id, const ih_ioc_t *ioc, const char *kind, char out [s_ID_MAX])
{
    ih_buf_t *t = &self->tmp;
    ih_buf_reset (t);
    const char *tn = ih_ioc_type_name (ioc->type);
    ih_buf_append (t, kind, strlen (kind));
    ih_buf_append (t, "|", 1);
    ih_buf_append (t, alert_id, strlen (alert_id));
    ih_buf_append (t, "|", 1);
    if (ioc->type != IH_IOC_CVE) {
        ih_buf_append (t, tn, strlen (tn));
        ih_buf_append (t, "|", 1);
    }
    ih_buf_append (t, ioc->value, strlen (ioc->value));
    char u [IH_UUID_LEN + 1];
    ih_export_uuid5 ((const char *) t->data, t->len, u);
    snprintf (out, s_ID_MAX, "%s--%s", kind, u);
}

static void
s_stix_sep (ih_export_t *self)
{
    s_puts (self, self->objects++ ? ",\n" : "\n");
}

static void
s_stix_begin (ih_export_t *self)
{
    char id [IH_UUID_LEN + 1];
    ih_uuid_new (id);
    s_putf (self, "{\"type\":\"bundle\",\"id\":\"bundle--%s\",\"objects\":[", id);
    static const char *names [IH_TLP_COUNT] = {
        "TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"
    };
    for (int i = 0; i < IH_TLP_COUNT; i++) {
        s_stix_sep (self);
        s_putf (self, "{\"type\":\"marking-definition\",\"spec_version\":\"2.1\",\"id\":\"%s\","
                "\"created\":\"%s\",\"name\":\"%s\",\"extensions\":{\"%s\":"
                "{\"extension_type\":\"property-extension\",\"tlp_2_0\":\"%s\"}}}",
                s_tlp_marking [i], s_MARKING_TIME, names [i], s_TLP_EXT, s_tlp_lower [i]);
    }
}

/*  The common head of an SDO: type, spec_version, id, created, modified, created_by_ref. */
static void
s_stix_head (ih_export_t *self, const char *type, const char *id, const char *created,
             const char *modified, const char *by)
{
    //  Plain appends, no printf: this runs once per indicator.
    s_stix_sep (self);
    s_puts (self, "{\"type\":\"");
    s_puts (self, type);
    s_puts (self, "\",\"spec_version\":\"2.1\",\"id\":\"");
    s_puts (self, id);
    s_puts (self, "\",\"created\":\"");
    s_puts (self, created);
    s_puts (self, "\",\"modified\":\"");
    s_puts (self, modified);
    s_puts (self, "\",\"created_by_ref\":\"");
    s_puts (self, by);
    s_put (self, "\"", 1);
}

static void
s_stix_alert (ih_export_t *self, const ih_msg_t *m)
{
    char by [s_ID_MAX];
    s_identity_id (m->org, by);
    if (!zhashx_lookup (self->orgs, m->org)) {
        zhashx_insert (self->orgs, m->org, (void *) 1);
        s_stix_sep (self);
        s_putf (self, "{\"type\":\"identity\",\"spec_version\":\"2.1\",\"id\":\"%s\",\"created\":\"%s\","
                "\"modified\":\"%s\",\"name\":", by, s_IDENTITY_TIME, s_IDENTITY_TIME);
        s_json_str (self, m->org);
        s_puts (self, ",\"identity_class\":\"organization\"}");
    }
    char created [IH_TIME_MAX], modified [IH_TIME_MAX];
    ih_time_format (m->created, created);
    ih_time_format (m->modified, modified);
    const char *marking = s_tlp_marking [m->tlp];

    //  The report, referring to every object below (ids are derived, so known now).
    char rid [s_ID_MAX];
    snprintf (rid, sizeof rid, "report--%s", m->id);
    s_stix_head (self, "report", rid, created, modified, by);
    s_json_kv (self, "name", m->title);
    if (m->summary [0])
        s_json_kv (self, "description", m->summary);
    s_putf (self, ",\"published\":\"%s\",\"report_types\":[\"%s\"]", modified,
            m->category == IH_CAT_VULNERABILITY ? "vulnerability" : "threat-report");
    if (m->tags.count) {
        s_puts (self, ",\"labels\":[");
        for (uint32_t i = 0; i < m->tags.count; i++) {
            if (i)
                s_put (self, ",", 1);
            s_json_str (self, m->tags.items [i]);
        }
        s_put (self, "]", 1);
    }
    s_putf (self, ",\"external_references\":[{\"source_name\":\"infohub\",\"external_id\":\"%s\"}", m->id);
    for (uint32_t i = 0; i < m->references.count; i++) {
        s_puts (self, ",{\"source_name\":\"reference\",\"url\":");
        s_json_str (self, m->references.items [i]);
        s_put (self, "}", 1);
    }
    s_puts (self, "],\"object_refs\":[");
    if (self->nsel > self->capids) {
        self->capids = self->nsel;
        self->ids = (char (*) [s_ID_MAX]) realloc (self->ids, self->capids * sizeof *self->ids);
        if (!self->ids)
            abort ();
    }
    for (uint32_t i = 0; i < self->nsel; i++) {
        const ih_ioc_t *ioc = &self->sel [i];
        s_ioc_id (self, m->id, ioc, ioc->type == IH_IOC_CVE ? "vulnerability" : "indicator", self->ids [i]);
        s_puts (self, i ? ",\"" : "\"");
        s_puts (self, self->ids [i]);
        s_put (self, "\"", 1);
    }
    if (self->nsel == 0)
        s_putf (self, "\"%s\"", by);   //  object_refs may not be empty: the publisher
    s_putf (self, "],\"object_marking_refs\":[\"%s\"],\"x_infohub_severity\":\"%s\","
            "\"x_infohub_category\":\"%s\",\"x_infohub_revision\":%u", marking,
            ih_severity_name (m->severity), ih_category_name (m->category), m->revision);
    if (m->sectors.count) {
        s_puts (self, ",\"x_infohub_sectors\":[");
        for (uint32_t i = 0; i < m->sectors.count; i++) {
            if (i)
                s_put (self, ",", 1);
            s_json_str (self, m->sectors.items [i]);
        }
        s_put (self, "]", 1);
    }
    s_put (self, "}", 1);

    for (uint32_t i = 0; i < self->nsel; i++) {
        const ih_ioc_t *ioc = &self->sel [i];
        const char *id = self->ids [i];
        if (ioc->type == IH_IOC_CVE) {
            s_stix_head (self, "vulnerability", id, created, modified, by);
            s_json_kv (self, "name", ioc->value);
            if (ioc->comment [0])
                s_json_kv (self, "description", ioc->comment);
            s_putf (self, ",\"external_references\":[{\"source_name\":\"cve\",\"external_id\":\"%s\"}]",
                    ioc->value);
        }
        else {
            s_stix_head (self, "indicator", id, created, modified, by);
            s_json_kv (self, "name", ioc->value);
            if (ioc->comment [0])
                s_json_kv (self, "description", ioc->comment);
            ih_buf_reset (&self->tmp);
            ih_export_stix_pattern (ioc, &self->tmp);
            s_puts (self, ",\"indicator_types\":[\"malicious-activity\"],\"pattern\":");
            s_json_strn (&self->out, (const char *) self->tmp.data, self->tmp.len);
            s_puts (self, ",\"pattern_type\":\"stix\",\"pattern_version\":\"2.1\",\"valid_from\":\"");
            s_puts (self, created);
            s_put (self, "\"", 1);
        }
        s_puts (self, ",\"object_marking_refs\":[\"");
        s_puts (self, marking);
        s_puts (self, ioc->detect ? "\"],\"x_infohub_detect\":true}" : "\"],\"x_infohub_detect\":false}");
        self->stats.iocs++;
    }
}

static void
s_stix_end (ih_export_t *self)
{
    s_puts (self, "\n]}\n");
}

/* ---- misp ----------------------------------------------------------------------------- */

static const char *
s_misp_type (const ih_ioc_t *ioc, const char **category)
{
    *category = "Network activity";
    switch (ioc->type) {
        case IH_IOC_IPV4:
        case IH_IOC_IPV6:
        case IH_IOC_CIDR:     return "ip-dst";
        case IH_IOC_DOMAIN:   return "domain";
        case IH_IOC_URL:      return "url";
        case IH_IOC_ASN:      return "AS";
        case IH_IOC_EMAIL:    *category = "Payload delivery"; return "email-src";
        case IH_IOC_MD5:      *category = "Payload delivery"; return "md5";
        case IH_IOC_SHA1:     *category = "Payload delivery"; return "sha1";
        case IH_IOC_SHA256:   *category = "Payload delivery"; return "sha256";
        case IH_IOC_FILENAME: *category = "Payload delivery"; return "filename";
        case IH_IOC_CVE:      *category = "External analysis"; return "vulnerability";
    }
    return "text";
}

static const char *
s_misp_threat_level (ih_severity_t s)
{
    return s >= IH_SEV_HIGH ? "1" : s == IH_SEV_MEDIUM ? "2" : "3";
}

static const char *
s_misp_distribution (ih_tlp_t t)
{
    return t == IH_TLP_CLEAR ? "3" : t == IH_TLP_GREEN ? "1" : "0";
}

static void
s_misp_tag (ih_export_t *self, bool *first, const char *fmt, const char *value)
{
    char name [IH_MAX_SHORT * 2 + 32];
    snprintf (name, sizeof name, fmt, value);
    s_puts (self, *first ? "{\"name\":" : ",{\"name\":");
    s_json_str (self, name);
    s_put (self, "}", 1);
    *first = false;
}

/*  The Tag array and Orgc object, shared by events and the feed manifest. */
static void
s_misp_tags_orgc (ih_export_t *self, const ih_msg_t *m)
{
    char ouuid [IH_UUID_LEN + 1];
    char oname [IH_MAX_SHORT + 16];
    int n = snprintf (oname, sizeof oname, "identity|%s", m->org);
    ih_export_uuid5 (oname, (size_t) n, ouuid);
    s_puts (self, ",\"Orgc\":{\"name\":");
    s_json_str (self, m->org);
    s_putf (self, ",\"uuid\":\"%s\"},\"Tag\":[", ouuid);
    bool first = true;
    s_misp_tag (self, &first, "tlp:%s", s_tlp_lower [m->tlp]);
    s_misp_tag (self, &first, "infohub:severity=\"%s\"", ih_severity_name (m->severity));
    s_misp_tag (self, &first, "infohub:category=\"%s\"", ih_category_name (m->category));
    for (uint32_t i = 0; i < m->sectors.count; i++)
        s_misp_tag (self, &first, "infohub:sector=\"%s\"", m->sectors.items [i]);
    for (uint32_t i = 0; i < m->tags.count; i++)
        s_misp_tag (self, &first, "%s", m->tags.items [i]);
    s_put (self, "]", 1);
}

static void
s_misp_attr (ih_export_t *self, bool *first, const char *uuid, const char *type, const char *category,
             const char *value, bool to_ids, const char *comment, const char *ts)
{
    s_putf (self, "%s{\"uuid\":\"%s\",\"type\":\"%s\",\"category\":\"%s\",\"value\":", *first ? "" : ",",
            uuid, type, category);
    s_json_str (self, value);
    s_putf (self, ",\"to_ids\":%s,\"comment\":", to_ids ? "true" : "false");
    s_json_str (self, comment);
    s_putf (self, ",\"timestamp\":\"%s\",\"distribution\":\"5\"}", ts);
    *first = false;
}

/*  {"Event": {...}}; for misp-feed also the hashes.csv lines. */
static void
s_misp_event (ih_export_t *self, const ih_msg_t *m)
{
    char ts [24], date [16], created [IH_TIME_MAX];
    snprintf (ts, sizeof ts, "%" PRId64, m->modified / 1000);
    ih_time_format (m->created, created);
    snprintf (date, sizeof date, "%.10s", created);
    s_putf (self, "{\"Event\":{\"uuid\":\"%s\",\"info\":", m->id);
    s_json_str (self, m->title);
    s_putf (self, ",\"date\":\"%s\",\"threat_level_id\":\"%s\",\"analysis\":\"2\",\"distribution\":\"%s\","
            "\"published\":true,\"timestamp\":\"%s\",\"publish_timestamp\":\"%s\"", date,
            s_misp_threat_level (m->severity), s_misp_distribution (m->tlp), ts, ts);
    s_misp_tags_orgc (self, m);
    s_puts (self, ",\"Attribute\":[");
    bool first = true;
    char uuid [IH_UUID_LEN + 1];
    ih_buf_t *t = &self->tmp;
    if (m->summary [0]) {
        ih_buf_reset (t);
        ih_buf_append (t, "summary|", 8);
        ih_buf_append (t, m->id, strlen (m->id));
        ih_export_uuid5 ((const char *) t->data, t->len, uuid);
        s_misp_attr (self, &first, uuid, "text", "Other", m->summary, false, "summary", ts);
    }
    for (uint32_t i = 0; i < m->references.count; i++) {
        ih_buf_reset (t);
        ih_buf_append (t, "link|", 5);
        ih_buf_append (t, m->id, strlen (m->id));
        ih_buf_append (t, "|", 1);
        ih_buf_append (t, m->references.items [i], strlen (m->references.items [i]));
        ih_export_uuid5 ((const char *) t->data, t->len, uuid);
        s_misp_attr (self, &first, uuid, "link", "External analysis", m->references.items [i], false,
                     "reference", ts);
    }
    for (uint32_t i = 0; i < self->nsel; i++) {
        const ih_ioc_t *ioc = &self->sel [i];
        char id [s_ID_MAX];
        s_ioc_id (self, m->id, ioc, "indicator", id);
        const char *category;
        const char *type = s_misp_type (ioc, &category);
        s_misp_attr (self, &first, id + 11, type, category, ioc->value, ioc->detect, ioc->comment, ts);
        if (self->hashes) {
            uint8_t h [16];
            char hex [33];
            s_md5 ((const uint8_t *) ioc->value, strlen (ioc->value), h);
            ih_hex_encode (h, 16, hex);
            if (fprintf (self->hashes, "%s,%s\n", hex, m->id) < 0)
                self->failed = true;
        }
        self->stats.iocs++;
    }
    s_puts (self, "]}}");
}

static void
s_misp_begin (ih_export_t *self)
{
    s_puts (self, "{\"response\":[");
}

static void
s_misp_alert (ih_export_t *self, const ih_msg_t *m)
{
    s_puts (self, self->objects++ ? ",\n" : "\n");
    s_misp_event (self, m);
}

static void
s_misp_end (ih_export_t *self)
{
    s_puts (self, "\n]}\n");
}

/*  misp-feed: the event into DIR/<uuid>.json (via a temporary name), its manifest entry
    into the manifest. */
static void
s_feed_alert (ih_export_t *self, const ih_msg_t *m)
{
    char path [4200], tmp [4300];
    snprintf (path, sizeof path, "%s/%s.json", self->dir, m->id);
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen (tmp, "w");
    if (!f) {
        self->failed = true;
        return;
    }
    s_flush (self);
    self->cur_sink = ih_export_sink_file;
    self->cur_arg = f;
    s_misp_event (self, m);
    s_put (self, "\n", 1);
    s_flush (self);
    if (fclose (f) != 0 || self->failed || rename (tmp, path) != 0) {
        unlink (tmp);
        self->failed = true;
    }
    //  manifest entry
    self->cur_arg = self->manifest;
    char ts [24], created [IH_TIME_MAX];
    snprintf (ts, sizeof ts, "%" PRId64, m->modified / 1000);
    ih_time_format (m->created, created);
    s_putf (self, "%s\"%s\":{\"info\":", self->manifest_items++ ? ",\n" : "\n", m->id);
    s_json_str (self, m->title);
    s_putf (self, ",\"analysis\":\"2\",\"timestamp\":\"%s\",\"date\":\"%.10s\",\"threat_level_id\":\"%s\"",
            ts, created, s_misp_threat_level (m->severity));
    s_misp_tags_orgc (self, m);
    s_put (self, "}", 1);
}

/* ---- the public API --------------------------------------------------------------------- */

const char *
ih_export_format_name (ih_export_format_t f)
{
    return (int) f >= 0 && f < IH_EXPORT_FORMATS ? s_format_names [f] : NULL;
}

int
ih_export_format_parse (const char *s, ih_export_format_t *f)
{
    for (int i = 0; s && i < IH_EXPORT_FORMATS; i++)
        if (streq (s, s_format_names [i])) {
            *f = (ih_export_format_t) i;
            return 0;
        }
    return -1;
}

bool
ih_export_format_detection (ih_export_format_t f)
{
    return f == IH_EXPORT_SURICATA || f == IH_EXPORT_ZEEK || f == IH_EXPORT_RPZ || f == IH_EXPORT_NFT
        || f == IH_EXPORT_PLAIN;
}

void
ih_export_opts_init (ih_export_opts_t *opts)
{
    memset (opts, 0, sizeof *opts);
    ih_select_init (&opts->sel);
}

static int
s_mkdir_p (const char *dir, ih_err_t *err)
{
    char path [4096];
    snprintf (path, sizeof path, "%s", dir);
    for (char *p = path + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir (path, 0755) != 0 && errno != EEXIST)
                return ih_err_set (err, "%s: cannot create: %s", path, strerror (errno));
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
        return ih_err_set (err, "%s: not a directory", dir);
    return 0;
}

static FILE *
s_open_tmp (const char *dir, const char *name, ih_err_t *err)
{
    char path [4200];
    snprintf (path, sizeof path, "%s/%s.tmp", dir, name);
    FILE *f = fopen (path, "w");
    if (!f)
        ih_err_set (err, "%s: cannot write: %s", path, strerror (errno));
    return f;
}

ih_export_t *
ih_export_new (ih_export_format_t format, const ih_export_opts_t *opts, ih_export_sink_fn *sink,
               void *sink_arg, const char *dir, ih_err_t *err)
{
    if (!ih_export_format_name (format)) {
        ih_err_set (err, "export: unknown format %d", (int) format);
        return NULL;
    }
    if (format == IH_EXPORT_MISP_FEED ? !dir || !*dir : !sink) {
        ih_err_set (err, "export: %s needs %s", s_format_names [format],
                    format == IH_EXPORT_MISP_FEED ? "a directory (--out DIR)" : "an output");
        return NULL;
    }
    ih_export_t *self = (ih_export_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->format = format;
    if (opts)
        self->opts = *opts;
    else
        ih_export_opts_init (&self->opts);
    self->detection = ih_export_format_detection (format);
    if (self->detection) {
        static const ih_rules_kind_t kinds [] = { IH_RULES_SURICATA, IH_RULES_ZEEK, IH_RULES_RPZ,
                                                  IH_RULES_NFT, IH_RULES_PLAIN };
        self->rules = ih_rules_new (kinds [format - IH_EXPORT_SURICATA], self->opts.sid_base,
                                    self->opts.generator, err);
        if (!self->rules) {
            free (self);
            return NULL;
        }
    }
    self->sink = self->cur_sink = sink;
    self->sink_arg = self->cur_arg = sink_arg;
    ih_buf_init (&self->out);
    ih_buf_init (&self->tmp);
    ih_buf_init (&self->prefix);
    ih_buf_reserve (&self->out, s_CHUNK + 4096);
    self->orgs = zhashx_new ();
    if (!self->orgs)
        abort ();
    if (format == IH_EXPORT_MISP_FEED) {
        self->dir = strdup (dir);
        if (!self->dir)
            abort ();
        if (s_mkdir_p (dir, err) != 0) {
            ih_export_destroy (&self);
            return NULL;
        }
        snprintf (self->marker, sizeof self->marker, "%s/.infohub-export", dir);
        FILE *mk = fopen (self->marker, "w");
        if (mk)
            fclose (mk);
        else
            self->marker [0] = 0;
        self->manifest = s_open_tmp (dir, "manifest.json", err);
        self->hashes = self->manifest ? s_open_tmp (dir, "hashes.csv", err) : NULL;
        if (!self->hashes) {
            ih_export_destroy (&self);
            return NULL;
        }
        self->cur_sink = ih_export_sink_file;
        self->cur_arg = self->manifest;
    }
    return self;
}

static void
s_begin (ih_export_t *self)
{
    if (self->started)
        return;
    self->started = true;
    switch (self->format) {
        case IH_EXPORT_CSV:       s_csv_begin (self); break;
        case IH_EXPORT_STIX21:    s_stix_begin (self); break;
        case IH_EXPORT_MISP:      s_misp_begin (self); break;
        case IH_EXPORT_MISP_FEED: s_puts (self, "{"); break;
        case IH_EXPORT_JSONL:     break;
        default:                  ih_rules_header (self->rules, &self->out); break;
    }
}

int
ih_export_alert (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info, ih_err_t *err)
{
    if (self->finished)
        return ih_err_set (err, "export: already finished");
    if (m->kind != IH_KIND_ALERT)
        return 0;
    s_begin (self);
    ih_select_verdict_t v = ih_select_alert (&self->opts.sel, m, info);
    if (v == IH_SELECT_LEFT_RETRACTED) {
        self->stats.alerts_retracted++;
        return 0;
    }
    if (v != IH_SELECT_TAKEN || !s_select (self, m, info)) {
        self->stats.alerts_filtered++;
        return 0;
    }
    uint64_t before = self->stats.iocs;
    int rc = 0;
    switch (self->format) {
        case IH_EXPORT_CSV:       s_csv_alert (self, m); break;
        case IH_EXPORT_JSONL:     s_jsonl_alert (self, m, info); break;
        case IH_EXPORT_STIX21:    s_stix_alert (self, m); break;
        case IH_EXPORT_MISP:      s_misp_alert (self, m); break;
        case IH_EXPORT_MISP_FEED: s_feed_alert (self, m); break;
        default:
            rc = ih_rules_alert (self->rules, m, self->sel, self->nsel, &self->out, &self->stats.iocs,
                                 &self->stats.iocs_no_form, err);
            if (self->out.len >= s_CHUNK)
                s_flush (self);
    }
    if (rc)
        return -1;
    if (self->failed)
        return ih_err_set (err, "export: cannot write output: %s", strerror (errno));
    //  A detection export counts an alert only when something of it went out.
    if (!self->detection || self->stats.iocs > before)
        self->stats.alerts++;
    return 0;
}

/*  misp-feed: drops event files that this export did not write (alerts since retracted
    or filtered out), recognised as <uuid>.json older than the start marker. */
static void
s_feed_sweep (ih_export_t *self)
{
    struct stat mk;
    if (!self->marker [0] || stat (self->marker, &mk) != 0)
        return;
    DIR *d = opendir (self->dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir (d))) {
        size_t n = strlen (e->d_name);
        char id [IH_UUID_LEN + 1];
        if (n != IH_UUID_LEN + 5 || strcmp (e->d_name + IH_UUID_LEN, ".json") != 0)
            continue;
        memcpy (id, e->d_name, IH_UUID_LEN);
        id [IH_UUID_LEN] = 0;
        if (!ih_uuid_valid (id))
            continue;
        char path [4400];
        snprintf (path, sizeof path, "%s/%s", self->dir, e->d_name);
        struct stat st;
        if (stat (path, &st) == 0
        && (st.st_mtim.tv_sec < mk.st_mtim.tv_sec
            || (st.st_mtim.tv_sec == mk.st_mtim.tv_sec && st.st_mtim.tv_nsec < mk.st_mtim.tv_nsec)))
            unlink (path);
    }
    closedir (d);
}

int
ih_export_finish (ih_export_t *self, ih_err_t *err)
{
    if (self->finished)
        return 0;
    s_begin (self);
    self->finished = true;
    switch (self->format) {
        case IH_EXPORT_STIX21:    s_stix_end (self); break;
        case IH_EXPORT_MISP:      s_misp_end (self); break;
        case IH_EXPORT_MISP_FEED: s_puts (self, "\n}\n"); break;
        default:                  break;
    }
    s_flush (self);
    if (self->format == IH_EXPORT_MISP_FEED) {
        int r1 = fclose (self->manifest), r2 = fclose (self->hashes);
        self->manifest = self->hashes = NULL;
        if (r1 || r2)
            self->failed = true;
        const char *names [] = { "hashes.csv", "manifest.json" };
        for (int i = 0; i < 2 && !self->failed; i++) {
            char from [4200], to [4200];
            snprintf (from, sizeof from, "%s/%s.tmp", self->dir, names [i]);
            snprintf (to, sizeof to, "%s/%s", self->dir, names [i]);
            if (rename (from, to) != 0)
                self->failed = true;
        }
        if (!self->failed)
            s_feed_sweep (self);
        if (self->marker [0])
            unlink (self->marker);
    }
    if (self->failed)
        return ih_err_set (err, "export: cannot write output: %s", strerror (errno));
    return 0;
}

const ih_export_stats_t *
ih_export_stats (const ih_export_t *self)
{
    return &self->stats;
}

void
ih_export_destroy (ih_export_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_export_t *self = *self_p;
    if (self->manifest || self->hashes) {
        //  An unfinished feed: nothing half-written keeps a final name.
        const char *names [] = { "hashes.csv", "manifest.json" };
        for (int i = 0; i < 2; i++) {
            char path [4200];
            snprintf (path, sizeof path, "%s/%s.tmp", self->dir, names [i]);
            unlink (path);
        }
        if (self->manifest)
            fclose (self->manifest);
        if (self->hashes)
            fclose (self->hashes);
        if (self->marker [0])
            unlink (self->marker);
    }
    ih_buf_free (&self->out);
    ih_buf_free (&self->tmp);
    ih_buf_free (&self->prefix);
    free (self->sel);
    free (self->ids);
    ih_rules_destroy (&self->rules);
    free (self->dir);
    zhashx_destroy (&self->orgs);
    free (self);
    *self_p = NULL;
}

typedef struct {
    ih_export_t *x;
    ih_err_t *err;
} s_walk_t;

static int
s_walk (const ih_msg_t *msg, const ih_store_alert_t *info, void *arg)
{
    s_walk_t *w = (s_walk_t *) arg;
    return ih_export_alert (w->x, msg, info, w->err) == 0 ? 0 : -1;
}

int
ih_export_store (ih_store_t *store, ih_export_t *self, ih_err_t *err)
{
    s_walk_t w = { self, err };
    if (store && ih_store_foreach (store, 0, false, s_walk, &w, err) != 0)
        return -1;
    return ih_export_finish (self, err);
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

static int
s_sink_buf (const void *data, size_t len, void *arg)
{
    ih_buf_append ((ih_buf_t *) arg, data, len);
    return 0;
}

static int
s_sink_fail (const void *data, size_t len, void *arg)
{
    (void) data; (void) len; (void) arg;
    errno = ENOSPC;
    return -1;
}

static void
s_t_alert (ih_msg_t *m, const char *id, ih_tlp_t tlp, const char *title)
{
    ih_msg_init (m, IH_KIND_ALERT);
    snprintf (m->id, sizeof m->id, "%s", id);
    m->created = 1764349536123LL;
    m->modified = m->created + 1000;
    m->revision = 2;
    m->org = ih_msg_str (m, "bank-a");
    m->member = ih_msg_str (m, "soc");
    m->title = ih_msg_str (m, title);
    m->summary = ih_msg_str (m, "Line one\nwith \"quotes\" and a \\ backslash");
    m->tlp = tlp;
    m->severity = IH_SEV_HIGH;
    m->category = IH_CAT_PHISHING;
    ih_msg_strlist_add (m, &m->sectors, "finance");
    ih_msg_strlist_add (m, &m->tags, "wave; two");
    ih_msg_strlist_add (m, &m->references, "https://ref.example.net/a");
    ih_msg_ioc_add (m, IH_IOC_IPV4, "45.33.32.156", "c2, \"main\"", true);
    ih_msg_ioc_add (m, IH_IOC_IPV4, "8.8.8.8", "", true);
    ih_msg_ioc_add (m, IH_IOC_DOMAIN, "evil-login.xyz", "", true);
    ih_msg_ioc_add (m, IH_IOC_URL, "http://evil-login.xyz:8080/a'b\\c?q=1", "", true);
    ih_msg_ioc_add (m, IH_IOC_CIDR, "2a03:2880::/32", "", true);
    ih_msg_ioc_add (m, IH_IOC_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "", true);
    ih_msg_ioc_add (m, IH_IOC_MD5, "0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e", "", false);
    ih_msg_ioc_add (m, IH_IOC_CVE, "CVE-2024-3400", "pan-os", true);
    ih_msg_ioc_add (m, IH_IOC_ASN, "AS64496", "", true);
    ih_msg_ioc_add (m, IH_IOC_EMAIL, "boss@evil-login.xyz", "", true);
    ih_msg_ioc_add (m, IH_IOC_FILENAME, "invoice.exe", "", true);
}

/*  Runs one export of msgs into a string (caller frees). */
static char *
s_t_export (ih_export_format_t f, const ih_export_opts_t *o, ih_msg_t *msgs, const ih_store_alert_t *infos,
            int n, ih_export_stats_t *stats)
{
    ih_buf_t b;
    ih_buf_init (&b);
    ih_err_t err = { "" };
    ih_export_t *x = ih_export_new (f, o, s_sink_buf, &b, NULL, &err);
    IH_CHECK (x);
    for (int i = 0; i < n; i++)
        IH_CHECK (ih_export_alert (x, &msgs [i], infos ? &infos [i] : NULL, &err) == 0);
    IH_CHECK (ih_export_finish (x, &err) == 0);
    IH_CHECK (ih_export_finish (x, &err) == 0);     //  twice: no-op
    if (stats)
        *stats = *ih_export_stats (x);
    IH_CHECK (ih_export_stats (x)->bytes == b.len);
    ih_export_destroy (&x);
    ih_export_destroy (&x);
    ih_buf_append (&b, "", 1);
    return (char *) b.data;
}

static size_t
s_t_count (const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr (s, needle); p; p = strstr (p + 1, needle))
        n++;
    return n;
}

void
ih_export_test (bool verbose)
{
    //  Hashes against published vectors.
    uint8_t h [16];
    char hex [33];
    s_md5 ((const uint8_t *) "", 0, h);
    ih_hex_encode (h, 16, hex);
    IH_CHECK (streq (hex, "d41d8cd98f00b204e9800998ecf8427e"));
    s_md5 ((const uint8_t *) "abc", 3, h);
    ih_hex_encode (h, 16, hex);
    IH_CHECK (streq (hex, "900150983cd24fb0d6963f7d28e17f72"));
    const char *q = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
    s_md5 ((const uint8_t *) q, strlen (q), h);
    ih_hex_encode (h, 16, hex);
    IH_CHECK (streq (hex, "57edf4a22be3c955ac49da2e2107b67a"));
    static const uint8_t dns_ns [16] = {
        0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8
    };
    char u [IH_UUID_LEN + 1];
    s_uuid5_ns (dns_ns, "python.org", 10, u);
    IH_CHECK (streq (u, "886313e1-3b8a-5372-9b90-0c9aee199e5d"));
    ih_export_uuid5 ("x", 1, u);
    IH_CHECK (ih_uuid_valid (u) && u [14] == '5');

    //  Names, parsing, failure paths of new.
    ih_export_format_t f;
    IH_CHECK (ih_export_format_parse ("misp-feed", &f) == 0 && f == IH_EXPORT_MISP_FEED);
    IH_CHECK (ih_export_format_parse ("stix", &f) == -1);
    IH_CHECK (ih_export_format_parse (NULL, &f) == -1);
    IH_CHECK (streq (ih_export_format_name (IH_EXPORT_NFT), "nft"));
    IH_CHECK (ih_export_format_name ((ih_export_format_t) 99) == NULL);
    IH_CHECK (ih_export_format_detection (IH_EXPORT_PLAIN) && !ih_export_format_detection (IH_EXPORT_CSV));
    ih_err_t err = { "" };
    IH_CHECK (ih_export_new (IH_EXPORT_MISP_FEED, NULL, NULL, NULL, NULL, &err) == NULL);
    IH_CHECK (strstr (err.msg, "needs a directory"));
    IH_CHECK (ih_export_new (IH_EXPORT_CSV, NULL, NULL, NULL, NULL, &err) == NULL);
    IH_CHECK (ih_export_new ((ih_export_format_t) 42, NULL, s_sink_buf, NULL, NULL, &err) == NULL);

    //  STIX patterns: escaping, asn, cidr family, no pattern for a cve.
    ih_buf_t pb;
    ih_buf_init (&pb);
    ih_ioc_t ioc = { IH_IOC_URL, "http://x.example/a'b\\c", "", true };
    IH_CHECK (ih_export_stix_pattern (&ioc, &pb) == 0);
    ih_buf_append (&pb, "", 1);
    IH_CHECK (streq ((char *) pb.data, "[url:value = 'http://x.example/a\\'b\\\\c']"));
    ih_ioc_t asn = { IH_IOC_ASN, "AS64496", "", true };
    ih_buf_reset (&pb);
    IH_CHECK (ih_export_stix_pattern (&asn, &pb) == 0);
    ih_buf_append (&pb, "", 1);
    IH_CHECK (streq ((char *) pb.data, "[autonomous-system:number = 64496]"));
    ih_ioc_t v6 = { IH_IOC_CIDR, "2001:db8::/32", "", true };
    ih_buf_reset (&pb);
    IH_CHECK (ih_export_stix_pattern (&v6, &pb) == 0);
    IH_CHECK (memcmp (pb.data, "[ipv6-addr:value = '2001:db8::/32']", pb.len) == 0);
    ih_ioc_t sha1 = { IH_IOC_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "", true };
    ih_buf_reset (&pb);
    IH_CHECK (ih_export_stix_pattern (&sha1, &pb) == 0);
    IH_CHECK (memcmp (pb.data, "[file:hashes.'SHA-1' = '", 24) == 0);
    ih_ioc_t cve = { IH_IOC_CVE, "CVE-2024-3400", "", true };
    IH_CHECK (ih_export_stix_pattern (&cve, &pb) == -1);
    ih_buf_free (&pb);

    ih_msg_t msgs [3];
    s_t_alert (&msgs [0], "6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10", IH_TLP_AMBER, "Wave, \"one\"");
    s_t_alert (&msgs [1], "7a2d3b63-7c1f-4d5f-8b66-3e4d2d1f8b21", IH_TLP_RED, "Retracted one");
    s_t_alert (&msgs [2], "8b3e4c74-8d2a-4e6a-9c77-4f5e3e2a9c32", IH_TLP_CLEAR, "Clear one");
    ih_store_alert_t infos [3];
    memset (infos, 0, sizeof infos);
    for (int i = 0; i < 3; i++) {
        snprintf (infos [i].id, sizeof infos [i].id, "%s", msgs [i].id);
        infos [i].seq = (uint64_t) i + 1;
        infos [i].revision = 2;
        infos [i].revisions = 2;
    }
    infos [1].retracted = true;
    ih_export_opts_t o;
    ih_export_opts_init (&o);
    ih_export_stats_t st;

    //  csv: header, one row per IOC, RFC 4180 quoting, the retracted alert absent.
    char *out = s_t_export (IH_EXPORT_CSV, &o, msgs, infos, 3, &st);
    if (verbose)
        printf ("%s", out);
    IH_CHECK (strncmp (out, "alert_id,revision,created,", 26) == 0);
    IH_CHECK (s_t_count (out, "\r\n") == 1 + 2 * 11);
    IH_CHECK (strstr (out, ",\"Wave, \"\"one\"\"\",ipv4,45.33.32.156,\"c2, \"\"main\"\"\",true\r\n"));
    IH_CHECK (strstr (out, "AMBER,high,phishing,finance,wave; two,"));
    IH_CHECK (!strstr (out, msgs [1].id));
    IH_CHECK (st.alerts == 2 && st.iocs == 22 && st.alerts_retracted == 1);
    free (out);

    //  Filters: tlp-max, types, detect-only, category, sector, min-severity, since.
    o.sel.tlp_max = IH_TLP_GREEN;
    o.sel.types = (1u << IH_IOC_MD5) | (1u << IH_IOC_DOMAIN);
    o.sel.detect_only = true;
    out = s_t_export (IH_EXPORT_PLAIN, &o, msgs, infos, 3, &st);
    IH_CHECK (streq (out, "evil-login.xyz\n"));
    IH_CHECK (st.alerts == 1 && st.alerts_filtered == 1 && st.iocs_filtered == 10);
    free (out);
    ih_export_opts_init (&o);
    o.sel.category = IH_CAT_FRAUD;
    out = s_t_export (IH_EXPORT_JSONL, &o, msgs, infos, 3, &st);
    IH_CHECK (streq (out, "") && st.alerts_filtered == 2);
    free (out);
    ih_export_opts_init (&o);
    snprintf (o.sel.sector, sizeof o.sel.sector, "energy");
    out = s_t_export (IH_EXPORT_JSONL, &o, msgs, infos, 3, &st);
    IH_CHECK (streq (out, ""));
    free (out);
    ih_export_opts_init (&o);
    o.sel.min_severity = IH_SEV_CRITICAL;
    out = s_t_export (IH_EXPORT_JSONL, &o, msgs, infos, 3, &st);
    IH_CHECK (streq (out, ""));
    free (out);
    ih_export_opts_init (&o);
    o.sel.since = msgs [0].modified + 1;
    out = s_t_export (IH_EXPORT_JSONL, &o, msgs, infos, 3, &st);
    IH_CHECK (streq (out, ""));
    free (out);

    //  jsonl: the alert JSON, one a line, parseable.
    ih_export_opts_init (&o);
    out = s_t_export (IH_EXPORT_JSONL, &o, msgs, infos, 3, &st);
    IH_CHECK (s_t_count (out, "\n") == 2);
    json_error_t jerr;
    json_t *j = json_loadb (out, strcspn (out, "\n"), 0, &jerr);
    IH_CHECK (j && json_array_size (json_object_get (j, "iocs")) == 11);
    IH_CHECK (json_integer_value (json_object_get (j, "seq")) == 1);
    json_decref (j);
    free (out);

    //  stix21: a bundle that parses, markings, identity once, ids stable across exports,
    //  object_refs resolve, the retracted alert absent.
    out = s_t_export (IH_EXPORT_STIX21, &o, msgs, infos, 3, &st);
    j = json_loads (out, 0, &jerr);
    if (!j)
        fprintf (stderr, "stix: %s at %d\n", jerr.text, jerr.line);
    IH_CHECK (j);
    json_t *objs = json_object_get (j, "objects");
    IH_CHECK (streq (json_string_value (json_object_get (j, "type")), "bundle"));
    //  5 markings + 1 identity + 2 x (report + 10 indicators + 1 vulnerability)
    IH_CHECK (json_array_size (objs) == 5 + 1 + 2 * 12);
    size_t ri = 0;
    json_t *ob;
    zhashx_t *ids = zhashx_new ();
    json_array_foreach (objs, ri, ob) {
        const char *id = json_string_value (json_object_get (ob, "id"));
        IH_CHECK (id && zhashx_insert (ids, id, (void *) 1) == 0);     //  unique
    }
    json_array_foreach (objs, ri, ob) {
        json_t *refs = json_object_get (ob, "object_refs");
        size_t k;
        json_t *r;
        json_array_foreach (refs, k, r)
            IH_CHECK (zhashx_lookup (ids, json_string_value (r)));
        const char *pat = json_string_value (json_object_get (ob, "pattern"));
        if (pat && strstr (pat, "url:value"))
            IH_CHECK (streq (pat, "[url:value = 'http://evil-login.xyz:8080/a\\'b\\\\c?q=1']"));
    }
    IH_CHECK (zhashx_lookup (ids, "report--6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10"));
    IH_CHECK (!zhashx_lookup (ids, "report--7a2d3b63-7c1f-4d5f-8b66-3e4d2d1f8b21"));
    IH_CHECK (zhashx_lookup (ids, s_tlp_marking [IH_TLP_AMBER]));
    zhashx_destroy (&ids);
    json_t *rep = json_array_get (objs, 6);
    IH_CHECK (streq (json_string_value (json_object_get (rep, "type")), "report"));
    IH_CHECK (streq (json_string_value (json_array_get (json_object_get (rep, "object_marking_refs"), 0)),
                     s_tlp_marking [IH_TLP_AMBER]));
    IH_CHECK (streq (json_string_value (json_object_get (rep, "description")), msgs [0].summary));
    json_decref (j);
    char *again = s_t_export (IH_EXPORT_STIX21, &o, msgs, infos, 3, NULL);
    IH_CHECK (strlen (again) == strlen (out));
    IH_CHECK (streq (strstr (again, "\"objects\""), strstr (out, "\"objects\"")));    //  only the bundle id differs
    free (again);
    free (out);
    //  An empty bundle still has its markings.
    out = s_t_export (IH_EXPORT_STIX21, &o, msgs, infos, 0, NULL);
    j = json_loads (out, 0, &jerr);
    IH_CHECK (j && json_array_size (json_object_get (j, "objects")) == 5);
    json_decref (j);
    free (out);

    //  misp: two events, tags, attributes with to_ids.
    out = s_t_export (IH_EXPORT_MISP, &o, msgs, infos, 3, &st);
    j = json_loads (out, 0, &jerr);
    IH_CHECK (j);
    json_t *resp = json_object_get (j, "response");
    IH_CHECK (json_array_size (resp) == 2);
    json_t *ev = json_object_get (json_array_get (resp, 0), "Event");
    IH_CHECK (streq (json_string_value (json_object_get (ev, "uuid")), msgs [0].id));
    IH_CHECK (streq (json_string_value (json_object_get (ev, "threat_level_id")), "1"));
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (json_object_get (ev, "Tag"), 0), "name")),
                     "tlp:amber"));
    json_t *attrs = json_object_get (ev, "Attribute");
    IH_CHECK (json_array_size (attrs) == 2 + 11);     //  summary, link, IOCs
    json_t *md5 = json_array_get (attrs, 2 + 6);
    IH_CHECK (streq (json_string_value (json_object_get (md5, "type")), "md5"));
    IH_CHECK (json_is_false (json_object_get (md5, "to_ids")));
    json_decref (j);
    free (out);

    //  Detection formats with a warninglist: 8.8.8.8 and the empty-file sha256 stay out.
    char dir [] = "/tmp/ih-export-test-XXXXXX";
    IH_CHECK (mkdtemp (dir));
    char path [4200];
    snprintf (path, sizeof path, "%s/wl.txt", dir);
    FILE *wf = fopen (path, "w");
    IH_CHECK (wf);
    fputs ("8.8.8.8\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n", wf);
    fclose (wf);
    ih_warninglist_t *wl = ih_warninglist_load (dir, &err);
    IH_CHECK (wl);
    unlink (path);
    o.wl = wl;
    out = s_t_export (IH_EXPORT_PLAIN, &o, msgs, infos, 3, &st);
    IH_CHECK (!strstr (out, "8.8.8.8") && !strstr (out, "e3b0c442") && !strstr (out, "0c7b8f5d"));
    IH_CHECK (strstr (out, "45.33.32.156\n") && st.iocs_warninglisted == 4 && st.iocs == 16);
    free (out);
    o.wl = NULL;
    out = s_t_export (IH_EXPORT_PLAIN, &o, msgs, infos, 3, &st);
    IH_CHECK (strstr (out, "8.8.8.8\n") && st.iocs_warninglisted == 0);
    free (out);
    o.wl = wl;

    //  suricata: sids unique, in range, stable; rules per kind.
    out = s_t_export (IH_EXPORT_SURICATA, &o, msgs, infos, 3, &st);
    if (verbose)
        printf ("%s", out);
    IH_CHECK (s_t_count (out, "alert ip any any -> [45.33.32.156] any") == 2);
    IH_CHECK (s_t_count (out, "dns.query; dotprefix; content:\".evil-login.xyz\"; nocase; endswith;") == 2);
    IH_CHECK (strstr (out, "http.host; content:\"evil-login.xyz\"; nocase; bsize:14; http.uri.raw; "
                           "content:\"/a'b|5C|c?q=1\"; startswith;"));
    IH_CHECK (strstr (out, "alert ip any any -> [2a03:2880::/32] any"));
    IH_CHECK (!strstr (out, "8.8.8.8") && st.iocs_no_form > 0);
    zhashx_t *sids = zhashx_new ();
    for (const char *p = strstr (out, "sid:"); p; p = strstr (p + 1, "sid:")) {
        char sid [16];
        snprintf (sid, sizeof sid, "%.*s", (int) strcspn (p + 4, ";"), p + 4);
        long v = strtol (sid, NULL, 10);
        IH_CHECK (v >= 9000000 && v < 9000000 + (1L << 26));
        IH_CHECK (zhashx_insert (sids, sid, (void *) 1) == 0);
    }
    IH_CHECK (zhashx_size (sids) == 2 * 5);     //  ip, 2 x domain, url, cidr per alert
    zhashx_destroy (&sids);
    again = s_t_export (IH_EXPORT_SURICATA, &o, msgs, infos, 3, NULL);
    IH_CHECK (streq (again, out));
    free (again);
    free (out);

    //  zeek, rpz, nft.
    out = s_t_export (IH_EXPORT_ZEEK, &o, msgs, infos, 3, &st);
    IH_CHECK (strncmp (out, "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n", 64) == 0);
    IH_CHECK (strstr (out, "\nevil-login.xyz:8080/a'b\\c?q=1\tIntel::URL\tinfohub/bank-a\t"));
    IH_CHECK (strstr (out, "\n2a03:2880::/32\tIntel::SUBNET\t"));
    IH_CHECK (strstr (out, "\tIntel::FILE_NAME\t") && !strstr (out, "CVE-2024"));
    free (out);
    out = s_t_export (IH_EXPORT_RPZ, &o, msgs, infos, 3, &st);
    IH_CHECK (strstr (out, "\nevil-login.xyz\tCNAME\t.\n*.evil-login.xyz\tCNAME\t.\n"));
    IH_CHECK (strstr (out, "\tSOA\t") && st.iocs == 2);
    free (out);
    out = s_t_export (IH_EXPORT_NFT, &o, msgs, infos, 3, &st);
    IH_CHECK (strstr (out, "add element inet infohub blocklist_v4 { 45.33.32.156 }\n"));
    IH_CHECK (strstr (out, "add element inet infohub blocklist_v6 { 2a03:2880::/32 }\n"));
    IH_CHECK (st.iocs == 4);
    free (out);

    //  misp-feed into a directory: manifest, hashes, one file per event; a stale event
    //  file of an earlier export is swept.
    char feed [4200], stale [4400];
    snprintf (feed, sizeof feed, "%s/feed", dir);
    ih_export_t *x = ih_export_new (IH_EXPORT_MISP_FEED, &o, NULL, NULL, feed, &err);
    IH_CHECK (x);
    snprintf (stale, sizeof stale, "%s/%s.json", feed, msgs [1].id);
    wf = fopen (stale, "w");
    IH_CHECK (wf);
    fclose (wf);
    struct timespec ts [2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    IH_CHECK (utimensat (AT_FDCWD, stale, ts, 0) == 0);
    for (int i = 0; i < 3; i++)
        IH_CHECK (ih_export_alert (x, &msgs [i], &infos [i], &err) == 0);
    IH_CHECK (ih_export_finish (x, &err) == 0);
    ih_export_destroy (&x);
    IH_CHECK (access (stale, F_OK) != 0);
    IH_CHECK (ih_fmt (path, sizeof path, "%s/manifest.json", feed));
    j = json_load_file (path, 0, &jerr);
    IH_CHECK (j && json_object_size (j) == 2 && json_object_get (j, msgs [0].id));
    IH_CHECK (json_object_get (json_object_get (j, msgs [2].id), "Tag"));
    json_decref (j);
    IH_CHECK (ih_fmt (path, sizeof path, "%s/%s.json", feed, msgs [0].id));
    j = json_load_file (path, 0, &jerr);
    IH_CHECK (j && json_object_get (j, "Event"));
    json_decref (j);
    unlink (path);
    IH_CHECK (ih_fmt (path, sizeof path, "%s/hashes.csv", feed));
    FILE *hf = fopen (path, "r");
    IH_CHECK (hf);
    char line [256];
    size_t lines = 0;
    bool seen = false;
    while (fgets (line, sizeof line, hf)) {
        lines++;
        //  md5("45.33.32.156")
        s_md5 ((const uint8_t *) "45.33.32.156", 12, h);
        ih_hex_encode (h, 16, hex);
        if (strncmp (line, hex, 32) == 0)
            seen = true;
    }
    fclose (hf);
    IH_CHECK (lines == 22 && seen);
    unlink (path);
    IH_CHECK (ih_fmt (path, sizeof path, "%s/manifest.json", feed));
    unlink (path);
    IH_CHECK (ih_fmt (path, sizeof path, "%s/%s.json", feed, msgs [2].id));
    unlink (path);
    IH_CHECK (rmdir (feed) == 0);
    //  An unfinished feed leaves no manifest behind.
    x = ih_export_new (IH_EXPORT_MISP_FEED, &o, NULL, NULL, feed, &err);
    IH_CHECK (x);
    ih_export_destroy (&x);
    IH_CHECK (rmdir (feed) == 0);
    IH_CHECK (rmdir (dir) == 0);

    //  A failing sink fails the export, named.
    x = ih_export_new (IH_EXPORT_CSV, &o, s_sink_fail, NULL, NULL, &err);
    IH_CHECK (x);
    for (int i = 0; i < 3; i++)
        ih_export_alert (x, &msgs [i], &infos [i], &err);
    IH_CHECK (ih_export_finish (x, &err) == -1 && strstr (err.msg, "cannot write output"));
    IH_CHECK (ih_export_alert (x, &msgs [0], NULL, &err) == -1 && strstr (err.msg, "finished"));
    ih_export_destroy (&x);

    ih_warninglist_destroy (&wl);
    for (int i = 0; i < 3; i++)
        ih_msg_free (&msgs [i]);
}
#endif
