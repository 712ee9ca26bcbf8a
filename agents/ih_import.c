/*  ih_import.c: the import core (ih_import.h documents the formats and the rules).

    Read top to bottom: the format table, the report, the text and JSON helpers the
    readers share, the entry points, the self-test. The drafts every reader fills, and
    the rules each draft goes out by, are in ih_import_draft.c. The readers have a file
    per family and share the job and the drafts through ih_import_priv.h:
    ih_import_stix.c (stix21), ih_import_misp.c (misp and MISP feeds),
    ih_import_text.c (csv, and free text through ih_extract). ih_import_plan.c compares
    drafts with the store; the command line is in ih_import_cmd.c (public API only).
*/
#include <czmq.h>
#include <inttypes.h>

#include "ih_import_priv.h"
#include "ih_ioc.h"

/*  The format table, in ih_import_format_t order. */
static const struct {
    const char *name;
    int (*read) (ih_import_job_t *job, const char *data, size_t len);
} s_formats [IH_IMPORT_FORMATS] = {
    { "stix21", ih_import_read_stix21 },
    { "misp",   ih_import_read_misp },
    { "csv",    ih_import_read_csv },
    { "text",   ih_import_read_text }
};

const char *
ih_import_format_name (ih_import_format_t f)
{
    return (int) f >= 0 && f < IH_IMPORT_FORMATS ? s_formats [f].name : NULL;
}

int
ih_import_format_parse (const char *s, ih_import_format_t *f)
{
    for (int i = 0; s && i < IH_IMPORT_FORMATS; i++)
        if (streq (s, s_formats [i].name)) {
            *f = (ih_import_format_t) i;
            return 0;
        }
    return -1;
}

void
ih_import_opts_init (ih_import_opts_t *opts)
{
    memset (opts, 0, sizeof *opts);
    opts->tlp = -1;
    opts->severity = IH_SEV_MEDIUM;
    opts->category = IH_CAT_OTHER;
}

/* ---- the report ------------------------------------------------------------------------- */

void
ih_import_count (ih_import_count_t *slots, int n, const char *what)
{
    int i = 0;
    for (; i < n - 1; i++) {
        if (slots [i].count == 0) {
            snprintf (slots [i].what, sizeof slots [i].what, "%s", what);
            break;
        }
        if (streq (slots [i].what, what))
            break;
    }
    if (i == n - 1)
        snprintf (slots [i].what, sizeof slots [i].what, "other");
    slots [i].count++;
}

void
ih_import_skip (ih_import_job_t *job, const char *fmt, ...)
{
    char what [64];
    va_list args;
    va_start (args, fmt);
    vsnprintf (what, sizeof what, fmt, args);
    va_end (args);
    ih_import_count (job->rep->skipped, IH_IMPORT_KINDS, what);
}

/*  Appends printf output at out + *o, never past outsz (*o stays within it). */
static void __attribute__((format(printf, 4, 5)))
s_cat (char *out, size_t outsz, size_t *o, const char *fmt, ...)
{
    if (*o + 1 >= outsz)
        return;
    va_list args;
    va_start (args, fmt);
    int n = vsnprintf (out + *o, outsz - *o, fmt, args);
    va_end (args);
    *o = n < 0 ? *o : *o + (size_t) n >= outsz ? outsz - 1 : *o + (size_t) n;
}

/*  "2 relationship, 1 kind 0" */
static void
s_counts_text (const ih_import_count_t *slots, int n, char *out, size_t outsz, size_t *o)
{
    for (int i = 0; i < n && slots [i].count; i++)
        s_cat (out, outsz, o, "%s%" PRIu64 " %s", i ? ", " : "", slots [i].count, slots [i].what);
}

void
ih_import_report_text (const ih_import_report_t *r, char *out, size_t outsz)
{
    size_t o = 0;
    out [0] = 0;
    s_counts_text (r->skipped, IH_IMPORT_KINDS, out, outsz, &o);
    if (r->invalid)
        s_cat (out, outsz, &o, "%s%" PRIu64 " invalid value%s (first: %s)", o ? "; " : "", r->invalid,
               r->invalid > 1 ? "s" : "", r->first_invalid);
    if (r->duplicates)
        s_cat (out, outsz, &o, "%s%" PRIu64 " duplicate IOC%s kept once", o ? "; " : "", r->duplicates,
               r->duplicates > 1 ? "s" : "");
}

void
ih_import_report_line (const ih_import_report_t *r, char *out, size_t outsz)
{
    size_t o = 0;
    out [0] = 0;
    const uint64_t *n = r->outcome;
    s_cat (out, outsz, &o, "%" PRIu64 " new, %" PRIu64 " revised, %" PRIu64 " unchanged, %" PRIu64 " not imported",
           n [IH_IMPORT_NEW], n [IH_IMPORT_REVISED], n [IH_IMPORT_UNCHANGED] + n [IH_IMPORT_KNOWN],
           n [IH_IMPORT_REFUSED]);
    if (n [IH_IMPORT_REFUSED]) {
        s_cat (out, outsz, &o, " (");
        s_counts_text (r->refused, IH_IMPORT_REASONS, out, outsz, &o);
        s_cat (out, outsz, &o, ")");
    }
    if (n [IH_IMPORT_KNOWN])
        s_cat (out, outsz, &o, "; %" PRIu64 " of the unchanged not in this agent's store yet, only at the broker"
               " (is its agent running?)", n [IH_IMPORT_KNOWN]);
    if (r->narrowed) {
        s_cat (out, outsz, &o, "; %" PRIu64 " narrowed to TLP:RED for this org alone (", r->narrowed);
        s_counts_text (r->narrow, IH_IMPORT_REASONS, out, outsz, &o);
        s_cat (out, outsz, &o, ")");
    }
    if (r->detect_off)
        s_cat (out, outsz, &o, "; %" PRIu64 " IOC%s with detect off (on a warninglist or in a documentation"
               " range)", r->detect_off, r->detect_off > 1 ? "s" : "");
    char left [1024];
    ih_import_report_text (r, left, sizeof left);
    if (left [0])
        s_cat (out, outsz, &o, "; left out: %s", left);
}

/* ---- helpers for the readers ------------------------------------------------------------ */

void
ih_import_clean_text (const char *s, size_t len, size_t max, bool multiline, char *out, size_t outsz)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *) s, *end = p + len;
    while (p < end && *p) {
        unsigned char c = *p;
        size_t n = 1;
        if (c >= 0x80) {
            n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
            bool ok = n >= 2 && p + n <= end;
            for (size_t i = 1; ok && i < n; i++)
                ok = (p [i] & 0xc0) == 0x80;
            if (ok && n == 2 && c < 0xc2)
                ok = false;
            if (ok && n == 3 && ((c == 0xe0 && p [1] < 0xa0) || (c == 0xed && p [1] >= 0xa0)))
                ok = false;
            if (ok && n == 4 && ((c == 0xf0 && p [1] < 0x90) || c > 0xf4 || (c == 0xf4 && p [1] >= 0x90)))
                ok = false;
            if (!ok) {
                if (o + 1 > max || o + 1 >= outsz)
                    break;
                out [o++] = '?';
                p++;
                continue;
            }
            //  Bidirectional embeddings, overrides and isolates are refused in a message
            //  (ih_msg.h): an import drops them instead of failing on them
            if (n == 3 && c == 0xe2 && ((p [1] == 0x80 && p [2] >= 0xaa && p [2] <= 0xae)
                                     || (p [1] == 0x81 && p [2] >= 0xa6 && p [2] <= 0xa9))) {
                p += n;
                continue;
            }
            if (o + n > max || o + n >= outsz)
                break;
            memcpy (out + o, p, n);
            o += n;
            p += n;
            continue;
        }
        p++;
        if (c == '\r' && multiline)
            continue;
        if (c < 0x20 || c == 0x7f)
            c = (multiline && (c == '\n' || c == '\t')) ? c : ' ';
        if (o + 1 > max || o + 1 >= outsz)
            break;
        out [o++] = (char) c;
    }
    //  No trailing blanks (a title of "x  " reads as "x").
    while (o && (out [o - 1] == ' ' || out [o - 1] == '\n' || out [o - 1] == '\t'))
        o--;
    out [o] = 0;
}

json_t *
ih_import_json (ih_import_job_t *job, const char *data, size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        ih_err_set (job->err, "%s: not JSON: %s (line %d)", job->format, jerr.text, jerr.line);
    return doc;
}

int
ih_import_type_for (const char *name, const char *value, ih_ioc_type_t *t)
{
    if (ih_ioc_type_parse (name, t) == 0)
        return 0;
    char low [40];
    snprintf (low, sizeof low, "%s", name);
    for (char *p = low; *p; p++)
        *p = (char) tolower ((unsigned char) *p);
    if (streq (low, "ip-dst") || streq (low, "ip-src") || streq (low, "ip") || streq (low, "ip-address")) {
        *t = strchr (value, '/') ? IH_IOC_CIDR : strchr (value, ':') ? IH_IOC_IPV6 : IH_IOC_IPV4;
        return 0;
    }
    static const struct { const char *name; ih_ioc_type_t t; } map [] = {
        { "hostname", IH_IOC_DOMAIN }, { "domain-name", IH_IOC_DOMAIN }, { "fqdn", IH_IOC_DOMAIN },
        { "uri", IH_IOC_URL }, { "link", IH_IOC_URL }, { "email-src", IH_IOC_EMAIL },
        { "email-dst", IH_IOC_EMAIL }, { "email-addr", IH_IOC_EMAIL }, { "as", IH_IOC_ASN },
        { "vulnerability", IH_IOC_CVE }, { "sha-1", IH_IOC_SHA1 }, { "sha-256", IH_IOC_SHA256 },
        { "file", IH_IOC_FILENAME }, { "file-name", IH_IOC_FILENAME }, { NULL, IH_IOC_IPV4 }
    };
    for (int i = 0; map [i].name; i++)
        if (streq (low, map [i].name)) {
            *t = map [i].t;
            return 0;
        }
    return -1;
}

/* ---- the entry points ------------------------------------------------------------------- */

static int
s_job_init (ih_import_job_t *job, const char *format, const ih_import_opts_t *opts, ih_import_opts_t *defaults,
            ih_import_alert_fn *fn, void *arg, ih_import_report_t *report, ih_err_t *err)
{
    memset (report, 0, sizeof *report);
    if (!opts) {
        ih_import_opts_init (defaults);
        opts = defaults;
    }
    memset (job, 0, sizeof *job);
    job->opts = opts;
    job->rep = report;
    job->fn = fn;
    job->arg = arg;
    job->err = err;
    job->format = format;
    job->seen = zhashx_new ();
    if (!job->seen)
        abort ();
    return 0;
}

int
ih_import_run (ih_import_format_t format, const char *data, size_t len, const ih_import_opts_t *opts,
               ih_import_alert_fn *fn, void *arg, ih_import_report_t *report, ih_err_t *err)
{
    ih_import_report_t local;
    ih_import_opts_t defaults;
    if (!ih_import_format_name (format)) {
        memset (report ? report : &local, 0, sizeof local);
        return ih_err_set (err, "import: unknown format %d", (int) format);
    }
    ih_import_job_t job;
    s_job_init (&job, s_formats [format].name, opts, &defaults, fn, arg, report ? report : &local, err);
    int rc = s_formats [format].read (&job, data, len);
    zhashx_destroy (&job.seen);
    return rc ? -1 : 0;
}

int
ih_import_run_feed (const char *dir, const ih_import_opts_t *opts, ih_import_alert_fn *fn, void *arg,
                    ih_import_report_t *report, ih_err_t *err)
{
    ih_import_report_t local;
    ih_import_opts_t defaults;
    ih_import_job_t job;
    s_job_init (&job, "misp", opts, &defaults, fn, arg, report ? report : &local, err);
    int rc = ih_import_read_misp_feed (&job, dir);
    zhashx_destroy (&job.seen);
    return rc ? -1 : 0;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static int
s_t_collect (ih_msg_t *draft, void *arg, ih_err_t *why)
{
    ih_import_t_fixture_t *g = (ih_import_t_fixture_t *) arg;
    if (g->stop_after && g->n == g->stop_after)
        return ih_err_set (why, "told to stop");
    IH_CHECK (g->n < 8);
    ih_msg_copy (&g->msgs [g->n++], draft);
    return IH_IMPORT_NEW;
}

static void
s_t_note (const char *title, const char *what, void *arg)
{
    ih_import_t_fixture_t *g = (ih_import_t_fixture_t *) arg;
    size_t n = strlen (g->notes);
    snprintf (g->notes + n, sizeof g->notes - n, "%s: %s\n", title, what);
}

void
ih_import_t_fixture (ih_import_t_fixture_t *g)
{
    memset (g, 0, sizeof *g);
    ih_import_opts_init (&g->o);
}

int
ih_import_t_run (ih_import_t_fixture_t *g, ih_import_format_t format, const char *text)
{
    g->notes [0] = 0;
    g->o.note = s_t_note;
    g->o.note_arg = g;
    return ih_import_run (format, text, strlen (text), &g->o, s_t_collect, g, &g->rep, &g->err);
}

int
ih_import_t_run_feed (ih_import_t_fixture_t *g, const char *dir)
{
    g->notes [0] = 0;
    g->o.note = s_t_note;
    g->o.note_arg = g;
    return ih_import_run_feed (dir, &g->o, s_t_collect, g, &g->rep, &g->err);
}

void
ih_import_t_reset (ih_import_t_fixture_t *g)
{
    for (int i = 0; i < g->n; i++)
        ih_msg_free (&g->msgs [i]);
    g->n = 0;
    g->stop_after = 0;
}

bool
ih_import_t_has (const ih_msg_t *m, ih_ioc_type_t t, const char *value)
{
    for (uint32_t i = 0; i < m->ioc_count; i++)
        if (m->iocs [i].type == t && streq (m->iocs [i].value, value))
            return true;
    return false;
}

uint64_t
ih_import_t_skipped (const ih_import_report_t *r, const char *what)
{
    for (int i = 0; i < IH_IMPORT_KINDS; i++)
        if (r->skipped [i].count && streq (r->skipped [i].what, what))
            return r->skipped [i].count;
    return 0;
}

char *
ih_import_t_export (ih_export_format_t format, const ih_msg_t *m)
{
    ih_buf_t b;
    ih_buf_init (&b);
    ih_err_t err = { "" };
    ih_export_t *x = ih_export_new (format, NULL, ih_export_sink_buf, &b, NULL, &err);
    IH_CHECK (x && ih_export_alert (x, m, NULL, &err) == 0 && ih_export_finish (x, &err) == 0);
    ih_export_destroy (&x);
    ih_buf_append (&b, "", 1);
    return (char *) b.data;
}

void
ih_import_t_round_trip (ih_export_format_t ef, ih_import_format_t inf)
{
    ih_msg_t src;
    ih_tk_alert (&src, NULL, IH_TLP_AMBER_STRICT, "Round trip");
    src.summary = "Summary";
    src.severity = IH_SEV_CRITICAL;
    src.category = IH_CAT_RANSOMWARE;
    static const char *vals [] = {
        "ipv4:45.33.32.156", "ipv6:2a03:2880::1", "cidr:91.215.85.0/24", "domain:evil-login.xyz",
        "url:http://evil-login.xyz/a'b\\c", "email:a@evil-login.xyz", "md5:0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e",
        "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "filename:in voice,\".exe", "cve:CVE-2024-3400", "asn:AS64496", NULL
    };
    ih_tk_iocs (&src, vals, true);
    for (uint32_t i = 0; i < src.ioc_count; i++)
        src.iocs [i].detect = i % 2 == 0;
    ih_import_t_fixture_t g;
    ih_import_t_fixture (&g);
    char *text = ih_import_t_export (ef, &src);
    if (ih_import_t_run (&g, inf, text) != 0)
        fprintf (stderr, "%s\n", g.err.msg);
    IH_CHECK (g.n == 1);
    ih_msg_t *m = &g.msgs [0];
    IH_CHECK (m->tlp == IH_TLP_AMBER_STRICT && m->ioc_count == src.ioc_count);
    IH_CHECK (m->severity == IH_SEV_CRITICAL && m->category == IH_CAT_RANSOMWARE);
    IH_CHECK (streq (m->title, "Round trip"));
    for (uint32_t i = 0; i < src.ioc_count; i++) {
        IH_CHECK (ih_import_t_has (m, src.iocs [i].type, src.iocs [i].value));
        IH_CHECK (m->iocs [i].detect == src.iocs [i].detect);
    }
    ih_import_t_reset (&g);
    free (text);
    ih_msg_free (&src);
}

void
ih_import_test (bool verbose)
{
    ih_import_format_t f;
    IH_CHECK (ih_import_format_parse ("misp", &f) == 0 && f == IH_IMPORT_MISP);
    IH_CHECK (ih_import_format_parse ("misp-feed", &f) == -1);
    IH_CHECK (ih_import_format_parse (NULL, &f) == -1);
    IH_CHECK (streq (ih_import_format_name (IH_IMPORT_TEXT), "text"));
    IH_CHECK (ih_import_format_name ((ih_import_format_t) 9) == NULL);
    ih_err_t err = { "" };
    IH_CHECK (ih_import_run ((ih_import_format_t) 9, "", 0, NULL, s_t_collect, NULL, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "unknown format 9"));

    //  Type names: ours, MISP's, the address family from the value.
    static const struct { const char *name, *value; int t; } types [] = {
        { "ipv4", "1.2.3.4", IH_IOC_IPV4 }, { "ip-dst", "1.2.3.4", IH_IOC_IPV4 },
        { "IP-SRC", "2a03:2880::1", IH_IOC_IPV6 }, { "ip", "10.0.0.0/8", IH_IOC_CIDR },
        { "hostname", "x.example", IH_IOC_DOMAIN }, { "email-dst", "a@x.example", IH_IOC_EMAIL },
        { "AS", "AS1", IH_IOC_ASN }, { "sha-256", "x", IH_IOC_SHA256 }, { "vulnerability", "x", IH_IOC_CVE },
        { "regkey", "x", -1 }, { "", "x", -1 }
    };
    for (size_t i = 0; i < sizeof types / sizeof types [0]; i++) {
        ih_ioc_type_t t;
        int rc = ih_import_type_for (types [i].name, types [i].value, &t);
        IH_CHECK (types [i].t < 0 ? rc == -1 : rc == 0 && (int) t == types [i].t);
    }

    //  Cleaning text: bad UTF-8, controls, cuts at a character, trailing blanks.
    char out [16];
    ih_import_clean_text ("a\xff" "b\x01" "c  ", 7, 10, false, out, sizeof out);
    IH_CHECK (streq (out, "a?b c"));
    ih_import_clean_text ("x\r\ny\tz\n\n", 8, 10, true, out, sizeof out);
    IH_CHECK (streq (out, "x\ny\tz"));
    ih_import_clean_text ("r\xe2\x80\xae" "evo\xe2\x81\xa6" "x\xe2\x80\x8f" "y", 15, 64, false, out, sizeof out);
    IH_CHECK (streq (out, "revox\xe2\x80\x8f" "y"));     //  U+202E, U+2066 dropped; U+200F kept
    ih_import_clean_text ("ab\xc3\xa9", 4, 3, false, out, sizeof out);
    IH_CHECK (streq (out, "ab"));

    //  The report: kinds in order, the last slot "other", invalid and duplicate values.
    ih_import_report_t rep;
    memset (&rep, 0, sizeof rep);
    ih_import_job_t job;
    memset (&job, 0, sizeof job);
    job.rep = &rep;
    ih_import_skip (&job, "relationship");
    ih_import_skip (&job, "relationship");
    for (int i = 0; i < IH_IMPORT_KINDS + 3; i++)
        ih_import_skip (&job, "kind %d", i);
    IH_CHECK (rep.skipped [0].count == 2 && streq (rep.skipped [1].what, "kind 0"));
    IH_CHECK (streq (rep.skipped [IH_IMPORT_KINDS - 1].what, "other"));
    IH_CHECK (rep.skipped [IH_IMPORT_KINDS - 1].count == 5);      //  kinds 22..26
    rep.invalid = 2;
    snprintf (rep.first_invalid, sizeof rep.first_invalid, "ipv4: bad");
    rep.duplicates = 1;
    char line [4096];
    ih_import_report_text (&rep, line, sizeof line);
    if (verbose)
        printf ("\n    %s", line);
    IH_CHECK (strncmp (line, "2 relationship, 1 kind 0, ", 26) == 0);
    IH_CHECK (strstr (line, "; 2 invalid values (first: ipv4: bad); 1 duplicate IOC kept once"));
    memset (&rep, 0, sizeof rep);
    ih_import_report_text (&rep, line, sizeof line);
    IH_CHECK (streq (line, ""));

    //  More than IH_MAX_IOCS in one alert: parts, the duplicate across parts kept once.
    ih_import_t_fixture_t g;
    ih_import_t_fixture (&g);
    ih_buf_t big;
    ih_buf_init (&big);
    ih_buf_append (&big, "value\n", 6);
    for (int i = 0; i < IH_MAX_IOCS + 10; i++) {
        char row [32];
        int n = snprintf (row, sizeof row, "45.%d.%d.%d\n", i >> 16, (i >> 8) & 255, i & 255);
        ih_buf_append (&big, row, (size_t) n);
    }
    ih_buf_append (&big, "45.0.0.0\n", 9);      //  a duplicate
    ih_buf_append (&big, "", 1);
    g.o.tlp = IH_TLP_GREEN;
    g.o.title = "Big";
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, (char *) big.data) == 0);
    IH_CHECK (g.n == 2 && g.msgs [0].ioc_count == IH_MAX_IOCS && g.msgs [1].ioc_count == 10);
    IH_CHECK (streq (g.msgs [0].title, "Big (part 1)") && streq (g.msgs [1].title, "Big (part 2)"));
    IH_CHECK (g.rep.duplicates == 1 && g.rep.alerts == 2 && g.rep.iocs == IH_MAX_IOCS + 10);
    ih_import_t_reset (&g);
    //  The callback stops it in the middle: at the first part.
    g.stop_after = 1;
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, (char *) big.data) == -1);
    IH_CHECK (strstr (g.err.msg, "stopped after 1 alert") && g.n == 1);
    ih_import_t_reset (&g);
    ih_buf_free (&big);
}
#endif
