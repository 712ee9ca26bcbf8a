/*  ih_export.c: the exporter core (ih_export.h documents the formats).

    Read top to bottom: the format table, the output buffer and its escapers, selection of
    alerts and IOCs, the detection formats' writer (ih_rules does their text), the public
    API, the self-test. Each other format has its writer in a file of its own, sharing the
    exporter's inside through ih_export_priv.h: ih_export_text.c (csv, jsonl),
    ih_export_stix.c (stix21, with the objects from ih_stix), ih_export_misp.c (misp,
    misp-feed). The command line (`infohub-agent export`) is in ih_export_cmd.c.

    csv and MISP are written by hand rather than through jansson objects: a million IOCs
    then cost one pass of string copies, not a million small trees. The escaper
    (s_json_strn) is the one place that makes MISP's JSON safe. stix21 is the exception:
    its objects are ih_stix's jansson objects, shared with TAXII, written as each is built
    (ih_export_json, with our own compact writer: jansson's json_dumpb re-checks every
    string and container and doubled the export's time).
*/
#include <czmq.h>
#include <errno.h>

#include "ih_export_priv.h"

static const ih_export_writer_t s_rules_writer;

/*  The format table: names, in ih_export_format_t order, and writers. */
static const struct {
    const char *name;
    const ih_export_writer_t *writer;
} s_formats [IH_EXPORT_FORMATS] = {
    { "csv",       &ih_export_csv_writer },
    { "jsonl",     &ih_export_jsonl_writer },
    { "stix21",    &ih_export_stix_writer },
    { "misp",      &ih_export_misp_writer },
    { "misp-feed", &ih_export_feed_writer },
    { "suricata",  &s_rules_writer },
    { "zeek",      &s_rules_writer },
    { "rpz",       &s_rules_writer },
    { "nft",       &s_rules_writer },
    { "plain",     &s_rules_writer }
};

/* ---- output ----------------------------------------------------------------------------- */

int
ih_export_sink_file (const void *data, size_t len, void *arg)
{
    FILE *f = (FILE *) arg;
    return fwrite (data, 1, len, f) == len ? 0 : -1;
}

int
ih_export_sink_buf (const void *data, size_t len, void *arg)
{
    ih_buf_append ((ih_buf_t *) arg, data, len);
    return 0;
}

void
ih_export_flush (ih_export_t *self)
{
    if (self->out.len && !self->failed && self->cur_sink) {
        if (self->cur_sink (self->out.data, self->out.len, self->cur_arg) != 0)
            self->failed = true;
        else
            self->stats.bytes += self->out.len;
    }
    ih_buf_reset (&self->out);
}

void
ih_export_wrote (ih_export_t *self)
{
    if (self->out.len >= IH_EXPORT_CHUNK)
        ih_export_flush (self);
}

void
ih_export_put (ih_export_t *self, const void *data, size_t len)
{
    ih_buf_append (&self->out, data, len);
    ih_export_wrote (self);
}

void
ih_export_puts (ih_export_t *self, const char *s)
{
    ih_export_put (self, s, strlen (s));
}

void
ih_export_putf (ih_export_t *self, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    ih_buf_vprintf (&self->out, fmt, args);
    va_end (args);
    ih_export_wrote (self);
}

/*  A JSON string, quoted (see ih_export_json_str). */
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

void
ih_export_json_str (ih_export_t *self, const char *s)
{
    s_json_strn (&self->out, s, strlen (s));
    ih_export_wrote (self);
}

/*  One JSON value, compact, the bytes json_dumpb (JSON_COMPACT) would give for what
    ih_stix builds (objects in insertion order, strings through s_json_strn), without
    jansson's re-checking of every string and container: the stix21 export spends its
    time here. Reals (which ih_stix never makes) go through jansson. */
static void
s_json_value (ih_buf_t *b, json_t *v)
{
    switch (json_typeof (v)) {
        case JSON_OBJECT: {
            ih_buf_append (b, "{", 1);
            const char *key;
            json_t *val;
            bool first = true;
            json_object_foreach (v, key, val) {
                if (!first)
                    ih_buf_append (b, ",", 1);
                first = false;
                s_json_strn (b, key, strlen (key));
                ih_buf_append (b, ":", 1);
                s_json_value (b, val);
            }
            ih_buf_append (b, "}", 1);
            break;
        }
        case JSON_ARRAY: {
            ih_buf_append (b, "[", 1);
            size_t i;
            json_t *val;
            json_array_foreach (v, i, val) {
                if (i)
                    ih_buf_append (b, ",", 1);
                s_json_value (b, val);
            }
            ih_buf_append (b, "]", 1);
            break;
        }
        case JSON_STRING:
            s_json_strn (b, json_string_value (v), json_string_length (v));
            break;
        case JSON_INTEGER:
            ih_buf_printf (b, "%" JSON_INTEGER_FORMAT, json_integer_value (v));
            break;
        case JSON_TRUE:
            ih_buf_append (b, "true", 4);
            break;
        case JSON_FALSE:
            ih_buf_append (b, "false", 5);
            break;
        case JSON_NULL:
            ih_buf_append (b, "null", 4);
            break;
        case JSON_REAL: {
            char *text = json_dumps (v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!text)
                abort ();
            ih_buf_append (b, text, strlen (text));
            free (text);
            break;
        }
    }
}

void
ih_export_json (ih_export_t *self, json_t *o)
{
    s_json_value (&self->out, o);
    ih_export_wrote (self);
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

/* ---- suricata, zeek, rpz, nft, plain (ih_rules) ----------------------------------------- */

static int
s_rules_open (ih_export_t *self, const char *dir, ih_err_t *err)
{
    static const ih_rules_kind_t kinds [] = { IH_RULES_SURICATA, IH_RULES_ZEEK, IH_RULES_RPZ,
                                              IH_RULES_NFT, IH_RULES_PLAIN };
    self->rules = ih_rules_new (kinds [self->format - IH_EXPORT_SURICATA], self->opts.sid_base,
                                self->opts.generator, err);
    return self->rules ? 0 : -1;
}

static void
s_rules_begin (ih_export_t *self)
{
    ih_rules_header (self->rules, &self->out);
}

static int
s_rules_alert (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info, ih_err_t *err)
{
    int rc = ih_rules_alert (self->rules, m, self->sel, self->nsel, &self->out, &self->stats.iocs,
                             &self->stats.iocs_no_form, err);
    ih_export_wrote (self);
    return rc;
}

static const ih_export_writer_t s_rules_writer = {
    .open = s_rules_open, .begin = s_rules_begin, .alert = s_rules_alert
};

/* ---- the public API --------------------------------------------------------------------- */

const char *
ih_export_format_name (ih_export_format_t f)
{
    return (int) f >= 0 && f < IH_EXPORT_FORMATS ? s_formats [f].name : NULL;
}

int
ih_export_format_parse (const char *s, ih_export_format_t *f)
{
    for (int i = 0; s && i < IH_EXPORT_FORMATS; i++)
        if (streq (s, s_formats [i].name)) {
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

ih_export_t *
ih_export_new (ih_export_format_t format, const ih_export_opts_t *opts, ih_export_sink_fn *sink,
               void *sink_arg, const char *dir, ih_err_t *err)
{
    if (!ih_export_format_name (format)) {
        ih_err_set (err, "export: unknown format %d", (int) format);
        return NULL;
    }
    if (format == IH_EXPORT_MISP_FEED ? !dir || !*dir : !sink) {
        ih_err_set (err, "export: %s needs %s", s_formats [format].name,
                    format == IH_EXPORT_MISP_FEED ? "a directory (--out DIR)" : "an output");
        return NULL;
    }
    ih_export_t *self = (ih_export_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->format = format;
    self->writer = s_formats [format].writer;
    if (opts)
        self->opts = *opts;
    else
        ih_export_opts_init (&self->opts);
    self->detection = ih_export_format_detection (format);
    self->sink = self->cur_sink = sink;
    self->sink_arg = self->cur_arg = sink_arg;
    ih_buf_init (&self->out);
    ih_buf_init (&self->tmp);
    ih_buf_init (&self->prefix);
    ih_buf_reserve (&self->out, IH_EXPORT_CHUNK + 4096);
    self->shared = zhashx_new ();
    if (!self->shared)
        abort ();
    if (self->writer->open && self->writer->open (self, dir, err) != 0)
        ih_export_destroy (&self);
    return self;
}

static void
s_begin (ih_export_t *self)
{
    if (self->started)
        return;
    self->started = true;
    if (self->writer->begin)
        self->writer->begin (self);
}

int
ih_export_alert (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info,
                 ih_err_t *err)
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
    if (v == IH_SELECT_LEFT_FILTERED && self->opts.sel.tlp_max >= 0 && (int) m->tlp > self->opts.sel.tlp_max) {
        //  Would the alert be taken without the ceiling? Then the ceiling alone left it
        //  out, and the command line says so (ih_export_cmd: exports default to AMBER).
        ih_select_t open = self->opts.sel;
        open.tlp_max = -1;
        if (ih_select_alert (&open, m, info) == IH_SELECT_TAKEN)
            self->stats.alerts_above_tlp [m->tlp]++;
    }
    if (v != IH_SELECT_TAKEN || !s_select (self, m, info)) {
        self->stats.alerts_filtered++;
        return 0;
    }
    uint64_t before = self->stats.iocs;
    if (self->writer->alert (self, m, info, err) != 0)
        return -1;
    if (self->failed)
        return ih_err_set (err, "export: cannot write output: %s", strerror (errno));
    //  A detection export counts an alert only when something of it went out.
    if (!self->detection || self->stats.iocs > before)
        self->stats.alerts++;
    return 0;
}

int
ih_export_finish (ih_export_t *self, ih_err_t *err)
{
    if (self->finished)
        return 0;
    s_begin (self);
    self->finished = true;
    if (self->writer->end)
        self->writer->end (self);
    ih_export_flush (self);
    if (self->writer->close)
        self->writer->close (self);
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
    if (self->writer->discard)
        self->writer->discard (self);
    ih_buf_free (&self->out);
    ih_buf_free (&self->tmp);
    ih_buf_free (&self->prefix);
    free (self->sel);
    ih_rules_destroy (&self->rules);
    free (self->dir);
    zhashx_destroy (&self->shared);
    free (self);
    *self_p = NULL;
}

typedef struct {
    ih_export_t *x;
    ih_store_t *store;
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
    s_walk_t w = { self, store, err };
    if (store && ih_store_foreach (store, 0, false, s_walk, &w, err) != 0)
        return -1;
    return ih_export_finish (self, err);
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

void
ih_export_t_fixture (ih_export_t_fixture_t *f)
{
    static const struct { ih_tlp_t tlp; const char *title; } kinds [3] = {
        { IH_TLP_AMBER, "Wave, \"one\"" }, { IH_TLP_RED, "Retracted one" }, { IH_TLP_CLEAR, "Clear one" }
    };
    static const char *iocs [] = {
        "ipv4:45.33.32.156", "ipv4:8.8.8.8", "domain:evil-login.xyz", "url:http://evil-login.xyz:8080/a'b\\c?q=1",
        "cidr:2a03:2880::/32", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "md5:0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e", "cve:CVE-2024-3400", "asn:AS64496", "email:boss@evil-login.xyz",
        "filename:invoice.exe", NULL
    };
    memset (f, 0, sizeof *f);
    for (int i = 0; i < 3; i++) {
        ih_msg_t *m = &f->msgs [i];
        ih_tk_alert (m, NULL, kinds [i].tlp, kinds [i].title);
        m->created = 1764349536123LL;
        m->modified = m->created + 1000;
        m->revision = 2;
        m->summary = ih_msg_str (m, "Line one\nwith \"quotes\" and a \\ backslash");
        m->category = IH_CAT_PHISHING;
        ih_msg_strlist_add (m, &m->sectors, "finance");
        ih_msg_strlist_add (m, &m->tags, "wave; two");
        ih_msg_strlist_add (m, &m->references, "https://ref.example.net/a");
        ih_tk_iocs (m, iocs, true);
        m->iocs [0].comment = ih_msg_str (m, "c2, \"main\"");
        m->iocs [6].detect = false;
        m->iocs [7].comment = ih_msg_str (m, "pan-os");
        if (kinds [i].tlp == IH_TLP_AMBER) {
            ih_msg_strlist_add (m, &m->recipients, "bank-b");
            ih_msg_strlist_add (m, &m->recipients, "sector:energy");
        }
        ih_store_alert_t *info = &f->infos [i];
        memcpy (info->id, m->id, sizeof m->id);         //  both IH_UUID_LEN + 1
        info->seq = (uint64_t) i + 1;
        info->revision = 2;
        info->revisions = 2;
    }
    f->infos [1].retracted = true;
    ih_export_opts_init (&f->o);
}

void
ih_export_t_fixture_free (ih_export_t_fixture_t *f)
{
    for (int i = 0; i < 3; i++)
        ih_msg_free (&f->msgs [i]);
}

char *
ih_export_t_run (ih_export_t_fixture_t *f, ih_export_format_t format, int n)
{
    ih_buf_t b;
    ih_buf_init (&b);
    ih_err_t err = { "" };
    ih_export_t *x = ih_export_new (format, &f->o, ih_export_sink_buf, &b, NULL, &err);
    IH_CHECK (x);
    for (int i = 0; i < n; i++)
        IH_CHECK (ih_export_alert (x, &f->msgs [i], &f->infos [i], &err) == 0);
    IH_CHECK (ih_export_finish (x, &err) == 0);
    IH_CHECK (ih_export_finish (x, &err) == 0);     //  twice: no-op
    f->st = *ih_export_stats (x);
    IH_CHECK (f->st.bytes == b.len);
    ih_export_destroy (&x);
    ih_export_destroy (&x);
    ih_buf_append (&b, "", 1);
    return (char *) b.data;
}

size_t
ih_export_t_count (const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr (s, needle); p; p = strstr (p + 1, needle))
        n++;
    return n;
}

static int
s_sink_fail (const void *data, size_t len, void *arg)
{
    (void) data; (void) len; (void) arg;
    errno = ENOSPC;
    return -1;
}

void
ih_export_test (bool verbose)
{
    //  Names, parsing, failure paths of new.
    ih_export_format_t fmt;
    IH_CHECK (ih_export_format_parse ("misp-feed", &fmt) == 0 && fmt == IH_EXPORT_MISP_FEED);
    IH_CHECK (ih_export_format_parse ("stix", &fmt) == -1);
    IH_CHECK (ih_export_format_parse (NULL, &fmt) == -1);
    for (int i = 0; i < IH_EXPORT_FORMATS; i++)
        IH_CHECK (ih_export_format_parse (ih_export_format_name ((ih_export_format_t) i), &fmt) == 0 && (int) fmt == i);
    IH_CHECK (streq (ih_export_format_name (IH_EXPORT_NFT), "nft"));
    IH_CHECK (ih_export_format_name ((ih_export_format_t) 99) == NULL);
    IH_CHECK (ih_export_format_detection (IH_EXPORT_PLAIN) && !ih_export_format_detection (IH_EXPORT_CSV));
    ih_err_t err = { "" };
    IH_CHECK (ih_export_new (IH_EXPORT_MISP_FEED, NULL, NULL, NULL, NULL, &err) == NULL);
    IH_CHECK (strstr (err.msg, "needs a directory"));
    IH_CHECK (ih_export_new (IH_EXPORT_CSV, NULL, NULL, NULL, NULL, &err) == NULL);
    IH_CHECK (ih_export_new ((ih_export_format_t) 42, NULL, ih_export_sink_buf, NULL, NULL, &err) == NULL);
    ih_export_t_fixture_t f;
    ih_export_t_fixture (&f);
    f.o.sid_base = UINT32_MAX;
    IH_CHECK (ih_export_new (IH_EXPORT_SURICATA, &f.o, ih_export_sink_buf, NULL, NULL, &err) == NULL);
    IH_CHECK (strstr (err.msg, "sid base"));

    //  Filters: tlp-max, types, detect-only, category, sector, min-severity, since.
    ih_export_opts_init (&f.o);
    f.o.sel.tlp_max = IH_TLP_GREEN;
    f.o.sel.types = (1u << IH_IOC_MD5) | (1u << IH_IOC_DOMAIN);
    f.o.sel.detect_only = true;
    char *out = ih_export_t_run (&f, IH_EXPORT_PLAIN, 3);
    IH_CHECK (streq (out, "evil-login.xyz\n"));
    IH_CHECK (f.st.alerts == 1 && f.st.alerts_filtered == 1 && f.st.iocs_filtered == 10 && f.st.alerts_retracted == 1);
    free (out);
    ih_export_opts_init (&f.o);
    f.o.sel.category = IH_CAT_FRAUD;
    out = ih_export_t_run (&f, IH_EXPORT_JSONL, 3);
    IH_CHECK (streq (out, "") && f.st.alerts_filtered == 2);
    free (out);
    ih_export_opts_init (&f.o);
    snprintf (f.o.sel.sector, sizeof f.o.sel.sector, "energy");
    out = ih_export_t_run (&f, IH_EXPORT_JSONL, 3);
    IH_CHECK (streq (out, ""));
    free (out);
    ih_export_opts_init (&f.o);
    f.o.sel.min_severity = IH_SEV_CRITICAL;
    out = ih_export_t_run (&f, IH_EXPORT_JSONL, 3);
    IH_CHECK (streq (out, ""));
    free (out);
    ih_export_opts_init (&f.o);
    f.o.sel.since = f.msgs [0].modified + 1;
    out = ih_export_t_run (&f, IH_EXPORT_JSONL, 3);
    IH_CHECK (streq (out, ""));
    free (out);

    //  Detection formats with a warninglist: 8.8.8.8 and the empty-file sha256 stay out.
    ih_export_opts_init (&f.o);
    char dir [256], path [512];
    ih_tk_tempdir ("export", dir, sizeof dir);
    FILE *wf = fopen (ih_tk_path (path, sizeof path, dir, "wl.txt"), "w");
    IH_CHECK (wf);
    fputs ("8.8.8.8\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n", wf);
    fclose (wf);
    ih_warninglist_t *wl = ih_warninglist_load (dir, &err);
    IH_CHECK (wl);
    ih_tk_rmtree (dir);
    f.o.wl = wl;
    out = ih_export_t_run (&f, IH_EXPORT_PLAIN, 3);
    IH_CHECK (!strstr (out, "8.8.8.8") && !strstr (out, "e3b0c442") && !strstr (out, "0c7b8f5d"));
    IH_CHECK (strstr (out, "45.33.32.156\n") && f.st.iocs_warninglisted == 4 && f.st.iocs == 16);
    free (out);
    f.o.wl = NULL;
    out = ih_export_t_run (&f, IH_EXPORT_PLAIN, 3);
    IH_CHECK (strstr (out, "8.8.8.8\n") && f.st.iocs_warninglisted == 0);
    free (out);
    f.o.wl = wl;

    //  suricata: sids unique, in range, stable; rules per kind; addresses either way;
    //  http.host without nocase (Suricata refuses it there).
    out = ih_export_t_run (&f, IH_EXPORT_SURICATA, 3);
    if (verbose)
        printf ("%s", out);
    IH_CHECK (ih_export_t_count (out, "alert ip [45.33.32.156] any <> any any (") == 2);
    IH_CHECK (ih_export_t_count (out, "dns.query; dotprefix; content:\".evil-login.xyz\"; nocase; endswith;") == 2);
    IH_CHECK (ih_export_t_count (out, "tls.sni; dotprefix; content:\".evil-login.xyz\"; nocase; endswith;") == 2);
    IH_CHECK (strstr (out, "http.host; content:\"evil-login.xyz\"; bsize:14; http.uri.raw; "
                           "content:\"/a'b|5C|c?q=1\"; startswith;"));
    IH_CHECK (!strstr (out, "http.host; content:\"evil-login.xyz\"; nocase"));
    IH_CHECK (strstr (out, "alert ip [2a03:2880::/32] any <> any any ("));
    IH_CHECK (!strstr (out, " -> ["));
    IH_CHECK (!strstr (out, "8.8.8.8") && f.st.iocs_no_form > 0);
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
    char *again = ih_export_t_run (&f, IH_EXPORT_SURICATA, 3);
    IH_CHECK (streq (again, out));
    free (again);
    free (out);

    //  zeek, rpz, nft.
    out = ih_export_t_run (&f, IH_EXPORT_ZEEK, 3);
    IH_CHECK (strncmp (out, "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n", 64) == 0);
    IH_CHECK (strstr (out, "\nevil-login.xyz:8080/a'b\\c?q=1\tIntel::URL\tinfohub/bank-a\t"));
    IH_CHECK (strstr (out, "\n2a03:2880::/32\tIntel::SUBNET\t"));
    IH_CHECK (strstr (out, "\tIntel::FILE_NAME\t") && !strstr (out, "CVE-2024"));
    free (out);
    out = ih_export_t_run (&f, IH_EXPORT_RPZ, 3);
    IH_CHECK (strstr (out, "\nevil-login.xyz\tCNAME\t.\n*.evil-login.xyz\tCNAME\t.\n"));
    //  Addresses and networks as rpz-ip triggers, not "cannot express".
    IH_CHECK (strstr (out, "\n32.156.32.33.45.rpz-ip\tCNAME\t.\n"));
    IH_CHECK (strstr (out, "\n32.zz.2880.2a03.rpz-ip\tCNAME\t.\n"));
    IH_CHECK (strstr (out, "\tSOA\t") && f.st.iocs == 2 * 3);
    //  No form: url, asn, email, filename, cve (8.8.8.8 and the sha256 are on the list,
    //  the md5 has no detect flag).
    IH_CHECK (f.st.iocs_no_form == 2 * 5);
    free (out);
    out = ih_export_t_run (&f, IH_EXPORT_NFT, 3);
    IH_CHECK (strstr (out, "add element inet infohub blocklist_v4 { 45.33.32.156 }\n"));
    IH_CHECK (strstr (out, "add element inet infohub blocklist_v6 { 2a03:2880::/32 }\n"));
    IH_CHECK (f.st.iocs == 4);
    free (out);

    //  A TLP ceiling: what it alone leaves out is counted by TLP.
    ih_export_opts_init (&f.o);
    f.infos [1].retracted = false;
    f.o.sel.tlp_max = IH_TLP_GREEN;
    out = ih_export_t_run (&f, IH_EXPORT_CSV, 3);
    IH_CHECK (f.st.alerts == 1 && f.st.alerts_filtered == 2);
    IH_CHECK (f.st.alerts_above_tlp [IH_TLP_AMBER] == 1 && f.st.alerts_above_tlp [IH_TLP_RED] == 1);
    IH_CHECK (f.st.alerts_above_tlp [IH_TLP_CLEAR] == 0 && f.st.alerts_above_tlp [IH_TLP_AMBER_STRICT] == 0);
    free (out);
    //  Left out by another filter as well: not the ceiling's doing.
    f.o.sel.category = IH_CAT_FRAUD;
    out = ih_export_t_run (&f, IH_EXPORT_CSV, 3);
    IH_CHECK (f.st.alerts == 0 && f.st.alerts_filtered == 3 && f.st.alerts_above_tlp [IH_TLP_RED] == 0);
    free (out);
    f.infos [1].retracted = true;
    ih_export_opts_init (&f.o);
    f.o.wl = wl;

    //  A failing sink fails the export, named.
    ih_export_t *x = ih_export_new (IH_EXPORT_CSV, &f.o, s_sink_fail, NULL, NULL, &err);
    IH_CHECK (x);
    for (int i = 0; i < 3; i++)
        ih_export_alert (x, &f.msgs [i], &f.infos [i], &err);
    IH_CHECK (ih_export_finish (x, &err) == -1 && strstr (err.msg, "cannot write output"));
    IH_CHECK (ih_export_alert (x, &f.msgs [0], NULL, &err) == -1 && strstr (err.msg, "finished"));
    ih_export_destroy (&x);

    ih_warninglist_destroy (&wl);
    ih_export_t_fixture_free (&f);
}
#endif
