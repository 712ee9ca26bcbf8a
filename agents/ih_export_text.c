/*  ih_export_text.c: the csv and jsonl exports (ih_export.h documents both; the exporter's
    core, ih_export.c, selects what they write). */
#include <czmq.h>

#include "ih_export_priv.h"
#include "ih_json.h"

/* ---- csv -------------------------------------------------------------------------------- */

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
s_csv_list (ih_export_t *self, ih_buf_t *b, const ih_strlist_t *l, bool last)
{
    ih_buf_reset (&self->tmp);
    for (uint32_t i = 0; i < l->count; i++) {
        if (i)
            ih_buf_append (&self->tmp, ";", 1);
        ih_buf_append (&self->tmp, l->items [i], strlen (l->items [i]));
    }
    ih_buf_append (&self->tmp, "", 1);
    s_csv_field (b, (const char *) self->tmp.data, last);
}

static void
s_csv_begin (ih_export_t *self)
{
    ih_export_puts (self, "alert_id,revision,created,modified,org,tlp,severity,category,sectors,tags,"
                          "title,type,value,comment,detect,recipients\r\n");
}

static int
s_csv_alert (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info, ih_err_t *err)
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
    s_csv_list (self, pre, &m->sectors, false);
    s_csv_list (self, pre, &m->tags, false);
    s_csv_field (pre, m->title, false);
    for (uint32_t i = 0; i < self->nsel; i++) {
        const ih_ioc_t *ioc = &self->sel [i];
        ih_buf_append (&self->out, pre->data, pre->len);
        s_csv_field (&self->out, ih_ioc_type_name (ioc->type), false);
        s_csv_field (&self->out, ioc->value, false);
        s_csv_field (&self->out, ioc->comment, false);
        s_csv_field (&self->out, ioc->detect ? "true" : "false", false);
        //  Last, so that readers of the older header keep their columns: who may receive
        //  it (an import must never widen an audience); empty = every member the TLP allows.
        s_csv_list (self, &self->out, &m->recipients, true);
        ih_export_wrote (self);
        self->stats.iocs++;
    }
    return 0;
}

const ih_export_writer_t ih_export_csv_writer = { .begin = s_csv_begin, .alert = s_csv_alert };

/* ---- jsonl ------------------------------------------------------------------------------ */

static int
s_jsonl_alert (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info, ih_err_t *err)
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
    ih_export_puts (self, line);
    ih_export_put (self, "\n", 1);
    free (line);
    self->stats.iocs += self->nsel;
    return 0;
}

const ih_export_writer_t ih_export_jsonl_writer = { .alert = s_jsonl_alert };

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

void
ih_export_text_test (bool verbose)
{
    ih_export_t_fixture_t f;
    ih_export_t_fixture (&f);

    //  csv: header, one row per IOC, RFC 4180 quoting, the retracted alert absent.
    char *out = ih_export_t_run (&f, IH_EXPORT_CSV, 3);
    if (verbose)
        printf ("%s", out);
    IH_CHECK (strncmp (out, "alert_id,revision,created,", 26) == 0);
    IH_CHECK (ih_export_t_count (out, "\r\n") == 1 + 2 * 11);
    IH_CHECK (strstr (out, ",\"Wave, \"\"one\"\"\",ipv4,45.33.32.156,\"c2, \"\"main\"\"\",true,"
                           "bank-b;sector:energy\r\n"));
    IH_CHECK (strstr (out, "AMBER,high,phishing,finance,wave; two,"));
    IH_CHECK (strstr (out, ",md5,0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e,,false,"));
    IH_CHECK (!strstr (out, f.msgs [1].id));
    IH_CHECK (f.st.alerts == 2 && f.st.iocs == 22 && f.st.alerts_retracted == 1);
    free (out);
    //  An empty export is the header.
    out = ih_export_t_run (&f, IH_EXPORT_CSV, 0);
    IH_CHECK (ih_export_t_count (out, "\r\n") == 1 && f.st.alerts == 0);
    free (out);

    //  csv fields: quoting, and the CSV-injection guard (ih_import_text's test reads them back).
    static const struct { const char *in, *out; } fields [] = {
        { "plain", "plain," }, { "a,b", "\"a,b\"," }, { "say \"hi\"", "\"say \"\"hi\"\"\"," },
        { "=1+1", "'=1+1," }, { "-cmd", "'-cmd," }, { "@x", "'@x," }, { "'+q", "''+q," },
        { "plain'", "plain'," }, { "=a,b", "\"'=a,b\"," }, { "", "," }, { "two\nlines", "\"two\nlines\"," }
    };
    ih_buf_t b;
    ih_buf_init (&b);
    for (size_t i = 0; i < sizeof fields / sizeof fields [0]; i++) {
        ih_buf_reset (&b);
        s_csv_field (&b, fields [i].in, false);
        IH_CHECK (b.len == strlen (fields [i].out) && memcmp (b.data, fields [i].out, b.len) == 0);
    }
    ih_buf_free (&b);

    //  jsonl: the alert JSON, one a line, parseable, with the store's meta.
    out = ih_export_t_run (&f, IH_EXPORT_JSONL, 3);
    IH_CHECK (ih_export_t_count (out, "\n") == 2 && f.st.iocs == 22);
    json_error_t jerr;
    json_t *j = json_loadb (out, strcspn (out, "\n"), 0, &jerr);
    IH_CHECK (j && json_array_size (json_object_get (j, "iocs")) == 11);
    IH_CHECK (json_integer_value (json_object_get (j, "seq")) == 1);
    IH_CHECK (streq (json_string_value (json_object_get (j, "id")), f.msgs [0].id));
    json_decref (j);
    free (out);
    //  Only the IOCs selected.
    f.o.sel.types = 1u << IH_IOC_CVE;
    out = ih_export_t_run (&f, IH_EXPORT_JSONL, 3);
    j = json_loadb (out, strcspn (out, "\n"), 0, &jerr);
    IH_CHECK (j && json_array_size (json_object_get (j, "iocs")) == 1 && f.st.iocs == 2);
    json_decref (j);
    free (out);

    ih_export_t_fixture_free (&f);
}
#endif
