/*  ih_import_text.c: CSV and free text into alert drafts (ih_import.h documents both).

    CSV is read as RFC 4180 (LF or CRLF), rows grouped into alerts by alert_id, else by
    title; free text goes through ih_extract, which finds the IOCs, references and TLP
    markings written in it.
*/
#include <czmq.h>

#include "ih_extract.h"
#include "ih_import_priv.h"
#include "ih_ioc.h"

#define s_CSV_COLS 64

typedef struct {
    char *fields [s_CSV_COLS];
    int count;
    ih_buf_t buf;               /* the fields, NUL-separated */
} s_row_t;

/*  Parses the next record at *pp (RFC 4180, LF or CRLF). Returns 1 with a row, 0 at the
    end, -1 with err. */
static int
s_csv_row (const char **pp, const char *end, s_row_t *row, int line, ih_err_t *err)
{
    const char *p = *pp;
    if (p >= end)
        return 0;
    ih_buf_reset (&row->buf);
    size_t offs [s_CSV_COLS];
    int n = 0;
    offs [n++] = 0;
    bool quoted = false, was_quoted = false;
    while (p < end) {
        char c = *p;
        if (quoted) {
            if (c == '"' && p + 1 < end && p [1] == '"') {
                ih_buf_append (&row->buf, "\"", 1);
                p += 2;
                continue;
            }
            if (c == '"') {
                quoted = false;
                p++;
                continue;
            }
            ih_buf_append (&row->buf, p, 1);
            p++;
            continue;
        }
        if (c == '"' && !was_quoted && row->buf.len == offs [n - 1]) {
            quoted = was_quoted = true;
            p++;
            continue;
        }
        if (c == ',') {
            ih_buf_append (&row->buf, "", 1);
            if (n == s_CSV_COLS)
                return ih_err_set (err, "csv: line %d: more than %d columns", line, s_CSV_COLS);
            offs [n++] = row->buf.len;
            was_quoted = false;
            p++;
            continue;
        }
        if (c == '\n' || c == '\r') {
            p += (c == '\r' && p + 1 < end && p [1] == '\n') ? 2 : 1;
            break;
        }
        ih_buf_append (&row->buf, p, 1);
        p++;
    }
    if (quoted)
        return ih_err_set (err, "csv: line %d: unterminated quoted field", line);
    ih_buf_append (&row->buf, "", 1);
    row->count = n;
    for (int i = 0; i < n; i++) {
        row->fields [i] = (char *) row->buf.data + offs [i];
        //  A ' in front of what a spreadsheet would take for a formula ('=…, '-…, ''+…)
        //  is the CSV-injection guard (ih_export writes it; so do other tools): drop it.
        const char *q = row->fields [i];
        while (*q == '\'')
            q++;
        if (q > row->fields [i] && *q && strchr ("=+-@\t\r", *q))
            row->fields [i]++;
    }
    *pp = p;
    return 1;
}

enum { s_C_VALUE, s_C_TYPE, s_C_ID, s_C_TITLE, s_C_TLP, s_C_SEV, s_C_CAT, s_C_SECTORS, s_C_TAGS,
       s_C_COMMENT, s_C_DETECT, s_C_RCPT, s_C_ORG, s_C_REV, s_C_IGNORED, s_C_N };

static int
s_csv_column (const char *name)
{
    static const struct { const char *name; int col; } names [] = {
        { "value", s_C_VALUE }, { "indicator", s_C_VALUE }, { "ioc", s_C_VALUE },
        { "type", s_C_TYPE }, { "indicator_type", s_C_TYPE }, { "alert_id", s_C_ID },
        { "event_id", s_C_ID }, { "event_uuid", s_C_ID }, { "title", s_C_TITLE }, { "info", s_C_TITLE },
        { "tlp", s_C_TLP }, { "severity", s_C_SEV }, { "category", s_C_CAT }, { "sectors", s_C_SECTORS },
        { "tags", s_C_TAGS }, { "comment", s_C_COMMENT }, { "detect", s_C_DETECT },
        { "to_ids", s_C_DETECT }, { "recipients", s_C_RCPT }, { "org", s_C_ORG }, { "publisher", s_C_ORG },
        { "publisher_org", s_C_ORG }, { "revision", s_C_REV }, { "created", s_C_IGNORED },
        { "modified", s_C_IGNORED }, { NULL, 0 }
    };
    char low [32];
    snprintf (low, sizeof low, "%s", name);
    for (char *p = low; *p; p++)
        *p = (char) tolower ((unsigned char) *p);
    for (int i = 0; names [i].name; i++)
        if (streq (low, names [i].name))
            return names [i].col;
    return -1;
}

enum { s_L_TAGS, s_L_SECTORS, s_L_RECIPIENTS };

static void
s_csv_list (ih_import_job_t *job, ih_import_draft_t *d, const char *s, int which)
{
    char buf [4096];
    snprintf (buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *t = strtok_r (buf, ";", &save); t; t = strtok_r (NULL, ";", &save)) {
        while (*t == ' ')
            t++;
        size_t n = strlen (t);
        while (n && t [n - 1] == ' ')
            t [--n] = 0;
        if (!*t)
            continue;
        if (which == s_L_SECTORS)
            ih_import_draft_sector (job, d, t);
        else
        if (which == s_L_RECIPIENTS)
            ih_import_draft_recipient (job, d, t);
        else
            ih_import_draft_tag (job, d, t);
    }
}

typedef struct {
    char *key;
    ih_import_draft_t d;
} s_group_t;

int
ih_import_read_csv (ih_import_job_t *job, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    if (len >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    s_row_t row;
    memset (&row, 0, sizeof row);
    ih_buf_init (&row.buf);
    int col [s_C_N];
    for (int i = 0; i < s_C_N; i++)
        col [i] = -1;
    int line = 1, rc = s_csv_row (&p, end, &row, line, job->err);
    if (rc <= 0) {
        ih_buf_free (&row.buf);
        return rc < 0 ? -1 : ih_err_set (job->err, "csv: empty input (a header line is needed)");
    }
    for (int i = 0; i < row.count; i++) {
        int c = s_csv_column (row.fields [i]);
        if (c == s_C_IGNORED)
            continue;
        if (c >= 0 && col [c] < 0)
            col [c] = i;
        else
        if (c < 0 && row.fields [i][0])
            ih_import_skip (job, "CSV column %.32s", row.fields [i]);
    }
    if (col [s_C_VALUE] < 0) {
        ih_buf_free (&row.buf);
        return ih_err_set (job->err, "csv: line 1: no 'value' column (the header names the columns: "
                           "value, type, alert_id, title, tlp, severity, category, sectors, tags, "
                           "comment, detect)");
    }
    //  AUDIENCE (ih_import.h): an export of ours (revision and org columns) without a
    //  recipients column cannot tell AMBER to everyone from AMBER to a few.
    job->amber_unknown = col [s_C_REV] >= 0 && col [s_C_ORG] >= 0 && col [s_C_RCPT] < 0;
    //  IDS (ih_import.h): rows without alert_id or title are known by the input's digest.
    char digest [IH_UUID_LEN + 1], file_id [IH_UUID_LEN + 8];
    ih_import_digest (data, len, digest);
    snprintf (file_id, sizeof file_id, "file:%s", digest);
    zhashx_t *groups = zhashx_new ();
    s_group_t **order = NULL;
    size_t ngroups = 0;
    rc = 0;
    while (rc == 0) {
        line++;
        int r = s_csv_row (&p, end, &row, line, job->err);
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 0)
            break;
        if (row.count == 1 && !row.fields [0][0])
            continue;       //  a blank line
        const char *f [s_C_N];
        for (int i = 0; i < s_C_N; i++)
            f [i] = col [i] >= 0 && col [i] < row.count ? row.fields [col [i]] : "";
        const char *key = f [s_C_ID][0] ? f [s_C_ID] : f [s_C_TITLE];
        s_group_t *g = (s_group_t *) zhashx_lookup (groups, key);
        if (!g) {
            g = (s_group_t *) calloc (1, sizeof *g);
            if (!g)
                abort ();
            g->key = strdup (key);
            zhashx_insert (groups, key, g);
            order = (s_group_t **) realloc (order, (ngroups + 1) * sizeof *order);
            if (!order || !g->key)
                abort ();
            order [ngroups++] = g;
            char title [IH_MAX_TITLE];
            snprintf (title, sizeof title, "CSV import of %s", job->opts->source ? job->opts->source : "a file");
            ih_buf_t source;
            ih_buf_init (&source);
            if (f [s_C_ID][0])
                ih_buf_printf (&source, "alert_id:%s", f [s_C_ID]);
            else
            if (f [s_C_TITLE][0])
                ih_buf_printf (&source, "title:%s", f [s_C_TITLE]);
            else
                ih_buf_printf (&source, "%s", file_id);
            const char *t = f [s_C_TITLE][0] ? f [s_C_TITLE] : job->opts->title ? job->opts->title : title;
            ih_import_draft_init (job, &g->d, t, (const char *) source.data);
            ih_buf_free (&source);
            ih_severity_t sev;
            ih_category_t cat;
            if (f [s_C_SEV][0] && ih_severity_parse (f [s_C_SEV], &sev) == 0)
                g->d.m.severity = sev;
            if (f [s_C_CAT][0] && ih_category_parse (f [s_C_CAT], &cat) == 0)
                g->d.m.category = cat;
            s_csv_list (job, &g->d, f [s_C_SECTORS], s_L_SECTORS);
            s_csv_list (job, &g->d, f [s_C_TAGS], s_L_TAGS);
            s_csv_list (job, &g->d, f [s_C_RCPT], s_L_RECIPIENTS);
            if (f [s_C_ORG][0])
                ih_import_draft_publisher (&g->d, f [s_C_ORG]);
        }
        ih_tlp_t tlp;
        if (f [s_C_TLP][0]) {
            const char *tv = strncasecmp (f [s_C_TLP], "tlp:", 4) == 0 ? f [s_C_TLP] + 4 : f [s_C_TLP];
            if (ih_tlp_parse (tv, &tlp) == 0)
                ih_import_draft_tlp (&g->d, (int) tlp);
            else
                ih_import_skip (job, "unknown TLP in a tlp column");
        }
        const char *value = f [s_C_VALUE];
        if (!value [0]) {
            ih_import_skip (job, "CSV row without a value");
            continue;
        }
        ih_ioc_type_t t;
        if (f [s_C_TYPE][0] ? ih_import_type_for (f [s_C_TYPE], value, &t) != 0 : ih_ioc_guess (value, &t) != 0) {
            if (f [s_C_TYPE][0])
                ih_import_skip (job, "CSV type %.32s", f [s_C_TYPE]);
            else
                ih_import_skip (job, "CSV value of no known type");
            continue;
        }
        const char *det = f [s_C_DETECT];
        bool detect = !(streq (det, "false") || streq (det, "0") || streq (det, "False") || streq (det, "FALSE"));
        rc = ih_import_draft_ioc (job, &g->d, t, value, f [s_C_COMMENT], detect);
    }
    for (size_t i = 0; i < ngroups; i++) {
        rc = ih_import_draft_done (job, &order [i]->d, rc);
        free (order [i]->key);
        free (order [i]);
    }
    free (order);
    zhashx_destroy (&groups);
    ih_buf_free (&row.buf);
    return rc;
}

/* ---- free text (ih_extract) ------------------------------------------------------------- */

typedef struct {
    ih_import_job_t *job;
    ih_import_draft_t *d;
} s_text_t;

static int
s_text_hit (const ih_extract_hit_t *h, void *arg)
{
    s_text_t *t = (s_text_t *) arg;
    if (h->kind == IH_EXTRACT_REFERENCE)
        ih_import_draft_reference (t->job, t->d, h->value);
    else
    if (h->kind == IH_EXTRACT_SKIPPED)
        ih_import_skip (t->job, "%s", h->why);
    else
    if (h->kind == IH_EXTRACT_TECHNIQUE)
        ih_import_draft_tag (t->job, t->d, h->value);     //  ATT&CK ids are tags
    else
        return ih_import_draft_ioc (t->job, t->d, h->type, h->value, h->comment, h->detect);
    return 0;
}

int
ih_import_read_text (ih_import_job_t *job, const char *data, size_t len)
{
    //  The title: the option, else the first line that is not only a TLP marking.
    char first [IH_MAX_TITLE + 1] = "";
    for (const char *p = data, *end = data + len; p < end && !first [0]; ) {
        const char *nl = memchr (p, '\n', (size_t) (end - p));
        size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
        ih_import_clean_text (p, n, IH_MAX_TITLE - 16, false, first, sizeof first);
        char *f = first;
        while (*f == ' ')
            f++;
        if (strncasecmp (f, "subject:", 8) == 0)
            f += 8;
        while (*f == ' ')
            f++;
        memmove (first, f, strlen (f) + 1);
        if (ih_extract_tlp (first, strlen (first)) >= 0 && strlen (first) < 24)
            first [0] = 0;
        p = nl ? nl + 1 : end;
    }
    //  IDS (ih_import.h): prose has no id of its own; the same text is the same alert.
    char digest [IH_UUID_LEN + 1], source [IH_UUID_LEN + 8];
    ih_import_digest (data, len, digest);
    snprintf (source, sizeof source, "text:%s", digest);
    ih_import_draft_t d;
    ih_import_draft_init (job, &d, job->opts->title ? job->opts->title : first [0] ? first : "Imported text", source);
    ih_import_draft_summary (&d, data, len);
    ih_import_draft_tlp (&d, ih_extract_tlp (data, len));
    s_text_t t = { job, &d };
    int rc = ih_extract_scan (data, len, job->opts->plain_urls_as_iocs, s_text_hit, &t);
    if (rc == 0 && d.part == 1 && d.m.ioc_count == 0)
        rc = ih_err_set (job->err, "text: no IOC found in it (nothing published)");
    return ih_import_draft_done (job, &d, rc);
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_json.h"
#include "ih_testkit.h"

void
ih_import_text_test (bool verbose)
{
    ih_import_t_fixture_t g;
    ih_import_t_fixture (&g);

    //  CSV: grouping by alert_id, quoting, our and MISP type names, guessed types.
    const char *csv =
        "\xef\xbb\xbf" "alert_id,title,tlp,severity,category,sectors,tags,type,value,comment,detect,extra\r\n"
        "a1,\"Wave, one\",AMBER,high,phishing,finance;energy,t1;t2,ipv4,45.33.32.156,\"c2, \"\"main\"\"\",true,x\r\n"
        "a2,Other,tlp:red,low,malware,,,domain,pay-portal.top,,false,\n"
        "a1,\"Wave, one\",AMBER,high,phishing,,,ip-dst,2a03:2880::/32,,,\n"
        "\n"
        "a1,\"Wave, one\",AMBER,high,phishing,,,frobnicator,xyz,,,\n"
        "a2,Other,RED,low,malware,,,,CVE-2024-3400,,,\n";
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, csv) == 0);
    IH_CHECK (g.n == 2);
    ih_msg_t *m = &g.msgs [0];
    IH_CHECK (streq (m->title, "Wave, one") && m->tlp == IH_TLP_AMBER && m->ioc_count == 2);
    IH_CHECK (streq (m->iocs [0].comment, "c2, \"main\"") && ih_import_t_has (m, IH_IOC_CIDR, "2a03:2880::/32"));
    IH_CHECK (m->sectors.count == 2 && m->tags.count == 2 && m->category == IH_CAT_PHISHING);
    m = &g.msgs [1];
    IH_CHECK (m->tlp == IH_TLP_RED && !m->iocs [0].detect && ih_import_t_has (m, IH_IOC_CVE, "CVE-2024-3400"));
    IH_CHECK (ih_import_t_skipped (&g.rep, "CSV type frobnicator") == 1 && ih_import_t_skipped (&g.rep, "CSV column extra") == 1);
    ih_import_t_reset (&g);
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, "type,indicator\nipv4,\"1.2.3.4\n") == -1);
    IH_CHECK (strstr (g.err.msg, "line 2: unterminated"));
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, "type,val\nipv4,1.2.3.4\n") == -1);
    IH_CHECK (strstr (g.err.msg, "no 'value' column"));
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, "value\n45.33.32.156\n") == 0);
    IH_CHECK (g.n == 0 && g.rep.outcome [IH_IMPORT_REFUSED] == 1 && strstr (g.notes, "no TLP marking"));
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, "") == -1 && strstr (g.err.msg, "empty input"));
    ih_import_t_reset (&g);

    //  Text: defanged forms, ports, public suffixes, file names, references, TLP in prose.
    const char *text =
        "Subject: Invoice fraud wave\n"
        "TLP:AMBER\n\n"
        "The lure (invoice.exe, also seen as update.zip) calls hxxps://pay-portal[.]top/login and\n"
        "45.33.32[.]156:8443, then evil-cdn[.]com. Mail comes from billing[@]pay-portal[.]top.\n"
        "Hash: 0C7B8F5D3E2A1B9C8D7E6F5A4B3C2D1E; see CVE-2024-3400 and AS64496, e.g. the report\n"
        "at https://advisories.example.org/2024/1 (also mentions readme.md and notes.txt, and\n"
        "www.evil.example, and [2a03:2880::1]:443). Do not forward: TLP:AMBER+STRICT.\n";
    g.o.tlp = -1;
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_TEXT, text) == 0);
    IH_CHECK (g.n == 1);
    m = &g.msgs [0];
    if (verbose) {
        char *j = ih_msg_to_json_str (m, NULL);
        printf ("  text: %s\n", j);
        free (j);
    }
    IH_CHECK (streq (m->title, "Invoice fraud wave") && m->tlp == IH_TLP_AMBER_STRICT);
    IH_CHECK (ih_import_t_has (m, IH_IOC_URL, "https://pay-portal.top/login"));
    IH_CHECK (ih_import_t_has (m, IH_IOC_IPV4, "45.33.32.156") && ih_import_t_has (m, IH_IOC_DOMAIN, "evil-cdn.com"));
    IH_CHECK (ih_import_t_has (m, IH_IOC_EMAIL, "billing@pay-portal.top"));
    IH_CHECK (ih_import_t_has (m, IH_IOC_MD5, "0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e") && ih_import_t_has (m, IH_IOC_CVE, "CVE-2024-3400"));
    IH_CHECK (ih_import_t_has (m, IH_IOC_ASN, "AS64496") && ih_import_t_has (m, IH_IOC_IPV6, "2a03:2880::1"));
    IH_CHECK (ih_import_t_has (m, IH_IOC_FILENAME, "invoice.exe"));
    IH_CHECK (!ih_import_t_has (m, IH_IOC_DOMAIN, "invoice.exe") && !ih_import_t_has (m, IH_IOC_DOMAIN, "update.zip"));
    IH_CHECK (!ih_import_t_has (m, IH_IOC_DOMAIN, "readme.md") && !ih_import_t_has (m, IH_IOC_DOMAIN, "e.g"));
    IH_CHECK (!ih_import_t_has (m, IH_IOC_DOMAIN, "www.evil.example"));     //  .example: no public suffix
    IH_CHECK (m->references.count == 1 && streq (m->references.items [0], "https://advisories.example.org/2024/1"));
    IH_CHECK (m->ioc_count == 9);
    IH_CHECK (strstr (m->summary, "Invoice fraud wave"));
    ih_import_t_reset (&g);
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_TEXT, "evil-cdn[.]com\n") == 0 && g.n == 0);
    IH_CHECK (g.rep.outcome [IH_IMPORT_REFUSED] == 1 && strstr (g.notes, "no TLP marking"));
    g.o.plain_urls_as_iocs = true;
    g.o.tlp = IH_TLP_GREEN;
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_TEXT, "see https://pay-portal.top/x.") == 0);
    IH_CHECK (g.n == 1 && ih_import_t_has (&g.msgs [0], IH_IOC_URL, "https://pay-portal.top/x"));
    IH_CHECK (streq (g.msgs [0].title, "see https://pay-portal.top/x."));
    ih_import_t_reset (&g);
    g.o.plain_urls_as_iocs = false;

    //  CSV injection: fields a spreadsheet would run get a ' in front on export, which
    //  the import takes off again (lossless, quotes already in front included).
    ih_msg_t src;
    ih_tk_alert (&src, NULL, IH_TLP_GREEN, "=HYPERLINK(\"http://x.example\",\"click\")");
    src.summary = "";
    src.severity = IH_SEV_LOW;
    src.category = IH_CAT_OTHER;
    ih_msg_ioc_add (&src, IH_IOC_FILENAME, "-cmd.exe", "=1+1", true);
    ih_msg_ioc_add (&src, IH_IOC_FILENAME, "@evil.exe", "+x", true);
    ih_msg_ioc_add (&src, IH_IOC_FILENAME, "'+quoted.exe", "'", true);
    ih_msg_ioc_add (&src, IH_IOC_FILENAME, "plain'.exe", "-", true);
    {
        char *csv_out = ih_import_t_export (IH_EXPORT_CSV, &src);
        IH_CHECK (strstr (csv_out, ",'-cmd.exe,") && strstr (csv_out, "\"'=HYPERLINK("));
        IH_CHECK (strstr (csv_out, ",'@evil.exe,") && strstr (csv_out, ",''+quoted.exe,"));
        IH_CHECK (strstr (csv_out, ",plain'.exe,") && strstr (csv_out, ",'=1+1,"));
        IH_CHECK (!strstr (csv_out, ",=") && !strstr (csv_out, ",-") && !strstr (csv_out, ",@"));
        IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, csv_out) == 0);
        IH_CHECK (g.n == 1);
        m = &g.msgs [0];
        IH_CHECK (streq (m->title, src.title) && m->ioc_count == 4);
        for (uint32_t i = 0; i < src.ioc_count; i++) {
            IH_CHECK (ih_import_t_has (m, src.iocs [i].type, src.iocs [i].value));
            bool same = false;
            for (uint32_t j = 0; j < m->ioc_count; j++)
                if (streq (m->iocs [j].value, src.iocs [i].value))
                    same = streq (m->iocs [j].comment, src.iocs [i].comment);
            IH_CHECK (same);
        }
        ih_import_t_reset (&g);
        free (csv_out);
    }
    ih_msg_free (&src);

    //  import (export (x)) keeps every IOC and the TLP.
    ih_import_t_round_trip (IH_EXPORT_CSV, IH_IMPORT_CSV);
}
#endif
