/*  ih_import_draft.c: the drafts every import reader fills, and the rules each goes out
    by (ih_import.h: IDS, AUDIENCE, ATTRIBUTION, WARNINGLISTS).

    Every value goes through ih_import_draft_ioc, the one place that validates,
    deduplicates, applies the warninglists and splits an alert at IH_MAX_IOCS; every
    draft leaves through s_draft_emit, the one place that decides its audience, adds
    its attribution, gives it its stable id, validates it and hands it to the callback.
    Read top to bottom: building a draft, the audience and attribution, handing it out,
    IOCs and the documentation ranges, the self-test.
*/
#include <czmq.h>
#include <arpa/inet.h>
#include <inttypes.h>

#include "ih_import_priv.h"
#include "ih_ioc.h"
#include "ih_stix.h"

/* ---- drafts ----------------------------------------------------------------------------- */

static void
s_draft_title (ih_import_draft_t *d, const char *title)
{
    ih_import_clean_text (title ? title : "", title ? strlen (title) : 0, IH_MAX_TITLE - 16, false, d->title,
                          sizeof d->title);
    if (!d->title [0])
        snprintf (d->title, sizeof d->title, "Imported alert");
    d->m.title = ih_msg_str (&d->m, d->title);
}

void
ih_import_digest (const void *data, size_t len, char out [IH_UUID_LEN + 1])
{
    ih_stix_uuid5 ((const char *) data, len, out);
}

void
ih_import_draft_init (ih_import_job_t *job, ih_import_draft_t *d, const char *title, const char *source)
{
    memset (d, 0, sizeof *d);
    ih_msg_init (&d->m, IH_KIND_ALERT);
    d->m.severity = job->opts->severity;
    d->m.category = job->opts->category;
    d->tlp = -1;
    d->part = 1;
    d->uid = ++job->uids;
    s_draft_title (d, title);
    //  IDS (ih_import.h): "import|ORG|FORMAT|SOURCE-ID".
    ih_buf_t name;
    ih_buf_init (&name);
    ih_buf_printf (&name, "import|%s|%s|", job->opts->org ? job->opts->org : "", job->format);
    ih_buf_append (&name, source, strlen (source));
    ih_stix_uuid5 ((const char *) name.data, name.len, d->id);
    ih_buf_free (&name);
}

void
ih_import_draft_summary (ih_import_draft_t *d, const char *text, size_t len)
{
    char *buf = (char *) malloc (IH_MAX_SUMMARY + 8);
    if (!buf)
        abort ();
    ih_import_clean_text (text, len, IH_MAX_SUMMARY, true, buf, IH_MAX_SUMMARY + 8);
    d->m.summary = ih_msg_str (&d->m, buf);
    free (buf);
}

void
ih_import_draft_tlp (ih_import_draft_t *d, int tlp)
{
    if (tlp >= 0 && tlp > d->tlp)
        d->tlp = tlp;
}

void
ih_import_draft_tag (ih_import_job_t *job, ih_import_draft_t *d, const char *tag)
{
    char t [IH_MAX_SHORT + 8];
    size_t n = strlen (tag);
    if (n > IH_MAX_SHORT) {
        ih_import_skip (job, "tag longer than %d bytes", IH_MAX_SHORT);
        return;
    }
    ih_import_clean_text (tag, n, IH_MAX_SHORT, false, t, sizeof t);
    if (!t [0] || ih_strlist_has (&d->m.tags, t))
        return;
    if (d->m.tags.count == IH_MAX_LIST) {
        ih_import_skip (job, "tag beyond %d", IH_MAX_LIST);
        return;
    }
    ih_msg_strlist_add (&d->m, &d->m.tags, t);
}

void
ih_import_draft_sector (ih_import_job_t *job, ih_import_draft_t *d, const char *sector)
{
    if (!ih_slug_valid (sector, IH_MAX_SHORT)) {
        ih_import_skip (job, "sector that is not a slug");
        return;
    }
    if (ih_strlist_has (&d->m.sectors, sector))
        return;
    if (d->m.sectors.count == IH_MAX_LIST) {
        ih_import_skip (job, "sector beyond %d", IH_MAX_LIST);
        return;
    }
    ih_msg_strlist_add (&d->m, &d->m.sectors, sector);
}

void
ih_import_draft_reference (ih_import_job_t *job, ih_import_draft_t *d, const char *url)
{
    size_t n = strlen (url);
    bool ok = n > 8 && n <= IH_MAX_REF && (strncmp (url, "https://", 8) == 0 || strncmp (url, "http://", 7) == 0);
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char) url [i] > 0x20 && url [i] != 0x7f;
    if (!ok) {
        ih_import_skip (job, "reference that is not an http(s) URL");
        return;
    }
    if (ih_strlist_has (&d->m.references, url))
        return;
    if (d->m.references.count == IH_MAX_LIST) {
        ih_import_skip (job, "reference beyond %d", IH_MAX_LIST);
        return;
    }
    ih_msg_strlist_add (&d->m, &d->m.references, url);
}

void
ih_import_draft_recipient (ih_import_job_t *job, ih_import_draft_t *d, const char *recipient)
{
    //  Whatever becomes of it, the input said the audience is a list: an AMBER alert
    //  whose list ends up empty must not go to everyone.
    d->had_recipients = true;
    const char *slug = strncmp (recipient, "sector:", 7) == 0 ? recipient + 7 : recipient;
    if (strlen (recipient) > IH_MAX_SHORT || !ih_slug_valid (slug, IH_MAX_SHORT)) {
        ih_import_skip (job, "recipient that is no org id or sector:S");
        return;
    }
    if (ih_strlist_has (&d->m.recipients, recipient))
        return;
    if (d->m.recipients.count == IH_MAX_LIST) {
        ih_import_skip (job, "recipient beyond %d", IH_MAX_LIST);
        return;
    }
    ih_msg_strlist_add (&d->m, &d->m.recipients, recipient);
}

void
ih_import_draft_publisher (ih_import_draft_t *d, const char *org)
{
    if (!d->publisher [0] && org)
        ih_import_clean_text (org, strlen (org), IH_MAX_SHORT * 2, false, d->publisher, sizeof d->publisher);
}

void
ih_import_draft_narrow (ih_import_draft_t *d, const char *why)
{
    if (!d->narrow [0])
        snprintf (d->narrow, sizeof d->narrow, "%s", why);
}

/*  Hands a note on d to the options' note function, once per draft. */
static void __attribute__((format(printf, 3, 4)))
s_draft_note (ih_import_job_t *job, ih_import_draft_t *d, const char *fmt, ...)
{
    if (d->noted || !job->opts->note)
        return;
    d->noted = true;
    char what [512];
    va_list args;
    va_start (args, fmt);
    vsnprintf (what, sizeof what, fmt, args);
    va_end (args);
    job->opts->note (d->title, what, job->opts->note_arg);
}

/*  Keeps the recipients that tlp carries: none for CLEAR and GREEN, no sector: entries
    beyond AMBER (which narrows: counted). */
static void
s_recipients_for (ih_import_job_t *job, ih_msg_t *m, int tlp)
{
    ih_strlist_t *l = &m->recipients;
    if (tlp < IH_TLP_AMBER) {
        l->count = 0;
        return;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < l->count; i++) {
        if (tlp > IH_TLP_AMBER && strncmp (l->items [i], "sector:", 7) == 0)
            ih_import_skip (job, "sector recipient of an AMBER+STRICT or RED alert");
        else
            l->items [k++] = l->items [i];
    }
    l->count = k;
}

/*  AUDIENCE (ih_import.h): the TLP the draft goes out with, its recipients trimmed to
    what that TLP carries; or -1 when it is not imported (no TLP). A narrowing is noted
    once per draft and counted per alert. */
static int
s_draft_audience (ih_import_job_t *job, ih_import_draft_t *d)
{
    ih_msg_t *m = &d->m;
    const char *org = job->opts->org && job->opts->org [0] ? job->opts->org : "this org";
    const char *narrow = d->narrow;
    int tlp = d->tlp;
    if (!narrow [0] && tlp == IH_TLP_AMBER && job->amber_unknown && !d->had_recipients)
        narrow = "AMBER in an Infohub CSV export without a recipients column";
    bool narrowed = false;
    if (narrow [0] && job->opts->tlp >= 0) {
        tlp = job->opts->tlp;
        s_draft_note (job, d, "TLP:%s as --tlp says (%s)", ih_tlp_name ((ih_tlp_t) tlp), narrow);
    }
    else
    if (narrow [0])
        narrowed = true;
    else
    if (tlp < 0 && job->opts->tlp >= 0)
        tlp = job->opts->tlp;
    else
    if (tlp < 0)
        return -1;
    if (!narrowed)
        s_recipients_for (job, m, tlp);
    if (!narrowed && tlp == IH_TLP_AMBER && d->had_recipients && m->recipients.count == 0) {
        narrow = "none of the recipients it names could be kept";
        narrowed = true;
    }
    if (narrowed) {
        tlp = IH_TLP_RED;
        m->recipients.count = 0;
        job->rep->narrowed++;
        ih_import_count (job->rep->narrow, IH_IMPORT_REASONS, narrow);
        s_draft_note (job, d, "narrowed to TLP:RED for %s alone: %s", org, narrow);
    }
    return tlp;
}

/*  ATTRIBUTION (ih_import.h), once per draft: the tag and the summary's first line. */
static void
s_draft_attribute (ih_import_job_t *job, ih_import_draft_t *d)
{
    if (d->attributed)
        return;
    d->attributed = true;
    const char *who = d->publisher;
    if (!who [0] || (job->opts->org && streq (who, job->opts->org)))
        return;
    char cut [IH_MAX_SHORT + 8], tag [IH_MAX_SHORT + 16];
    ih_import_clean_text (who, strlen (who), IH_MAX_SHORT - 7, false, cut, sizeof cut);
    snprintf (tag, sizeof tag, "source:%s", cut);
    ih_import_draft_tag (job, d, tag);
    char line [sizeof d->publisher + 32];
    size_t n = strlen (who);
    snprintf (line, sizeof line, "Originally published by %s%s", who, who [n - 1] == '.' ? "" : ".");
    const char *old = d->m.summary;
    if (strncmp (old, line, strlen (line)) == 0)
        return;     //  imported from an import of the same publisher's alert
    ih_buf_t b;
    ih_buf_init (&b);
    ih_buf_printf (&b, "%s%s%s", line, old [0] ? "\n\n" : "", old);
    ih_import_draft_summary (d, (const char *) b.data, b.len);
    ih_buf_free (&b);
}

/*  Validates and hands the draft over; with `more`, the same draft then continues as
    the next part (its IOCs emptied). */
static int
s_draft_emit (ih_import_job_t *job, ih_import_draft_t *d, bool more)
{
    if (job->stopped)
        return -1;
    ih_msg_t *m = &d->m;
    int tlp = s_draft_audience (job, d);
    if (tlp < 0) {
        const char *why = "no TLP marking (give --tlp)";
        job->rep->outcome [IH_IMPORT_REFUSED]++;
        ih_import_count (job->rep->refused, IH_IMPORT_REASONS, why);
        s_draft_note (job, d, "not imported: %s", why);
    }
    else {
        m->tlp = (ih_tlp_t) tlp;
        s_draft_attribute (job, d);
        if (more || d->part > 1) {
            char title [IH_MAX_TITLE + 1];
            ih_fmt (title, sizeof title, "%s (part %u)", d->title, d->part);
            m->title = ih_msg_str (m, title);
        }
        if (d->part == 1)
            snprintf (m->id, sizeof m->id, "%s", d->id);
        else {
            char name [IH_UUID_LEN + 32];
            int n = snprintf (name, sizeof name, "%s|part %u", d->id, d->part);
            ih_stix_uuid5 (name, (size_t) n, m->id);
        }
        //  Validate as it will be published: the publisher fills org, member and times.
        m->revision = 1;
        m->org = m->member = "import";
        m->created = m->modified = ih_now_ms ();
        ih_err_t verr = { "" };
        int rc = ih_msg_validate (m, &verr);
        m->org = m->member = "";
        m->created = m->modified = 0;
        if (rc != 0) {
            job->stopped = true;
            return ih_err_set (job->err, "%s: '%.60s': %s", job->format, d->title, verr.msg);
        }
        ih_err_t why = { "" };
        int out = job->fn (m, job->arg, &why);
        if (out < 0 || out >= IH_IMPORT_OUTCOMES) {
            job->stopped = true;
            return ih_err_set (job->err, "stopped after %" PRIu64 " alert%s%s%s", job->rep->alerts,
                               job->rep->alerts == 1 ? "" : "s", why.msg [0] ? ": " : "", why.msg);
        }
        job->rep->alerts++;
        job->rep->iocs += m->ioc_count;
        job->rep->outcome [out]++;
        if (out == IH_IMPORT_REFUSED) {
            //  Noted for each part: the parts of one draft may fare differently.
            const char *what = why.msg [0] ? why.msg : "refused";
            ih_import_count (job->rep->refused, IH_IMPORT_REASONS, what);
            if (job->opts->note) {
                char line [sizeof why.msg + 32];
                snprintf (line, sizeof line, "not imported: %s", what);
                job->opts->note (m->title, line, job->opts->note_arg);
            }
        }
    }
    if (more) {
        d->part++;
        m->ioc_count = 0;           //  the arena keeps the rest: fine for one import
        m->title = ih_msg_str (m, d->title);
    }
    return 0;
}

/*  Whether the first bits bits of a and b are equal. */
static bool
s_prefix_eq (const uint8_t *a, const uint8_t *b, unsigned bits)
{
    for (unsigned i = 0; i < bits; i++)
        if (((a [i / 8] ^ b [i / 8]) >> (7 - i % 8)) & 1)
            return false;
    return true;
}

/*  The documentation range (RFC 5737, RFC 3849) a normalised value of type t is in, or
    overlaps for a cidr: "5737", "3849", or NULL. A url's host counts when it is an
    address. */
static const char *
s_doc_range (ih_ioc_type_t t, const char *value)
{
    char host [IH_MAX_IOC_VALUE + 1];
    snprintf (host, sizeof host, "%s", value);
    unsigned prefix = 128;
    if (t == IH_IOC_URL) {
        const char *h = strstr (value, "://");
        if (!h)
            return NULL;
        h += 3;
        snprintf (host, sizeof host, "%.*s", (int) strcspn (h, "/?#"), h);
        char *at = strrchr (host, '@');
        if (at)
            memmove (host, at + 1, strlen (at + 1) + 1);
        char *end = host [0] == '[' ? strchr (host, ']') : strchr (host, ':');
        if (host [0] == '[' && !end)
            return NULL;
        if (end)
            *end = 0;
        if (host [0] == '[')
            memmove (host, host + 1, strlen (host + 1) + 1);
    }
    else
    if (t == IH_IOC_CIDR) {
        char *slash = strchr (host, '/');
        uint64_t p;
        if (!slash || !ih_parse_uint (slash + 1, 0, 128, &p))
            return NULL;
        *slash = 0;
        prefix = (unsigned) p;
    }
    else
    if (t != IH_IOC_IPV4 && t != IH_IOC_IPV6)
        return NULL;
    uint8_t a [16];
    if (inet_pton (AF_INET, host, a) == 1) {
        static const uint8_t nets [3][4] = { { 192, 0, 2, 0 }, { 198, 51, 100, 0 }, { 203, 0, 113, 0 } };
        for (int i = 0; i < 3; i++)
            if (s_prefix_eq (a, nets [i], prefix < 24 ? prefix : 24))
                return "5737";
        return NULL;
    }
    static const uint8_t net6 [4] = { 0x20, 0x01, 0x0d, 0xb8 };
    if (inet_pton (AF_INET6, host, a) == 1 && s_prefix_eq (a, net6, prefix < 32 ? prefix : 32))
        return "3849";
    return NULL;
}

int
ih_import_draft_ioc (ih_import_job_t *job, ih_import_draft_t *d, ih_ioc_type_t t, const char *raw,
                     const char *comment, bool detect)
{
    char norm [IH_MAX_IOC_VALUE + 1];
    ih_err_t verr = { "" };
    if (ih_ioc_normalise (t, raw, norm, sizeof norm, &verr) != 0) {
        if (job->rep->invalid++ == 0)
            ih_fmt (job->rep->first_invalid, sizeof job->rep->first_invalid, "%s", verr.msg);
        return 0;
    }
    char key [IH_MAX_IOC_VALUE + 64];
    snprintf (key, sizeof key, "%" PRIu64 "|%d|%s", d->uid, (int) t, norm);
    if (zhashx_lookup (job->seen, key)) {
        job->rep->duplicates++;
        return 0;
    }
    if (d->m.ioc_count == IH_MAX_IOCS && s_draft_emit (job, d, true) != 0)
        return -1;
    zhashx_insert (job->seen, key, (void *) 1);
    //  WARNINGLISTS (ih_import.h): a known-benign value is no detection.
    char label [128] = "";
    if (detect && !job->opts->keep_detect) {
        const char *list = job->opts->warninglist ? ih_warninglist_match (job->opts->warninglist, t, norm) : NULL;
        const char *rfc = list ? NULL : s_doc_range (t, norm);
        if (list)
            ih_fmt (label, sizeof label, "warninglist %s", list);
        else
        if (rfc)
            ih_fmt (label, sizeof label, "documentation range (RFC %s)", rfc);
    }
    char c [IH_MAX_IOC_COMMENT + 8];
    size_t room = IH_MAX_IOC_COMMENT - (label [0] ? strlen (label) + 2 : 0);
    ih_import_clean_text (comment ? comment : "", comment ? strlen (comment) : 0, room, false, c, sizeof c);
    if (label [0]) {
        size_t n = strlen (c);
        snprintf (c + n, sizeof c - n, "%s%s", n ? "; " : "", label);
        detect = false;
        job->rep->detect_off++;
    }
    ih_msg_ioc_add (&d->m, t, norm, c, detect);
    return 0;
}

int
ih_import_draft_done (ih_import_job_t *job, ih_import_draft_t *d, int rc)
{
    if (rc == 0)
        rc = s_draft_emit (job, d, false);
    ih_msg_free (&d->m);
    memset (d, 0, sizeof *d);
    return rc;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

/*  The draft of g whose title is title. */
static ih_msg_t *
s_t_find (ih_import_t_fixture_t *g, const char *title)
{
    for (int i = 0; i < g->n; i++)
        if (streq (g->msgs [i].title, title))
            return &g->msgs [i];
    IH_CHECK (!"no such draft");
    return NULL;
}

static const ih_ioc_t *
s_t_ioc (const ih_msg_t *m, const char *value)
{
    for (uint32_t i = 0; i < m->ioc_count; i++)
        if (streq (m->iocs [i].value, value))
            return &m->iocs [i];
    IH_CHECK (!"no such IOC");
    return NULL;
}

void
ih_import_draft_test (bool verbose)
{
    ih_import_t_fixture_t g;
    ih_import_t_fixture (&g);

    //  IDS: the same input gives the same ids; another org, others; a part its own.
    const char *two = "alert_id,tlp,title,value\na1,GREEN,One,45.33.32.156\na2,GREEN,Two,45.33.32.157\n";
    g.o.org = "bank-b";
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, two) == 0 && g.n == 2);
    char want [IH_UUID_LEN + 1], first [IH_UUID_LEN + 1];
    ih_stix_uuid5 ("import|bank-b|csv|alert_id:a1", 29, want);
    IH_CHECK (streq (g.msgs [0].id, want) && !streq (g.msgs [1].id, want));
    IH_CHECK (g.msgs [0].revision == 1 && g.msgs [0].created == 0 && !g.msgs [0].org [0]);
    snprintf (first, sizeof first, "%s", g.msgs [1].id);
    ih_import_t_reset (&g);
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, two) == 0 && streq (g.msgs [1].id, first));
    ih_import_t_reset (&g);
    g.o.org = "bank-c";
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, two) == 0 && !streq (g.msgs [1].id, first));
    ih_import_t_reset (&g);
    g.o.org = "bank-b";

    //  WARNINGLISTS: a list, the documentation ranges (in, overlapping, a url's host), the
    //  comment kept in front and cut to fit; what is not for detection is left alone.
    char base [256], path [300];
    ih_tk_tempdir ("import-draft", base, sizeof base);
    FILE *f = fopen (ih_tk_path (path, sizeof path, base, "popular.txt"), "w");
    IH_CHECK (f && fputs ("# name: popular\ngoogle.com\n", f) >= 0 && fclose (f) == 0);
    ih_err_t err = { "" };
    ih_warninglist_t *wl = ih_warninglist_load (base, &err);
    IH_CHECK (wl);
    ih_buf_t wcsv;
    ih_buf_init (&wcsv);
    ih_buf_printf (&wcsv, "type,value,comment,detect\n"
                   "domain,www.google.com,,true\nipv4,192.0.2.1,seen,true\nipv4,192.0.3.1,,true\n"
                   "cidr,198.51.100.0/25,,true\ncidr,198.0.0.0/8,,true\nurl,http://u@[2001:db8::1]:8080/x,,true\n"
                   "url,http://203.0.113.9:81/a,,true\ndomain,google.com.evil-login.xyz,,true\n"
                   "ipv4,203.0.113.5,,false\nipv6,2001:db8::dead,");
    for (int i = 0; i < IH_MAX_IOC_COMMENT; i++)
        ih_buf_append (&wcsv, "x", 1);
    ih_buf_printf (&wcsv, ",true\n");
    g.o.warninglist = wl;
    g.o.tlp = IH_TLP_GREEN;
    g.o.title = "WL";
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, (const char *) wcsv.data) == 0 && g.n == 1);
    ih_msg_t *m = &g.msgs [0];
    IH_CHECK (g.rep.detect_off == 7);
    const ih_ioc_t *x = s_t_ioc (m, "www.google.com");
    IH_CHECK (!x->detect && streq (x->comment, "warninglist popular"));
    x = s_t_ioc (m, "192.0.2.1");
    IH_CHECK (!x->detect && streq (x->comment, "seen; documentation range (RFC 5737)"));
    IH_CHECK (s_t_ioc (m, "192.0.3.1")->detect && s_t_ioc (m, "google.com.evil-login.xyz")->detect);
    IH_CHECK (!s_t_ioc (m, "198.51.100.0/25")->detect && !s_t_ioc (m, "198.0.0.0/8")->detect);
    x = s_t_ioc (m, "http://u@[2001:db8::1]:8080/x");
    IH_CHECK (!x->detect && strstr (x->comment, "RFC 3849"));
    IH_CHECK (!s_t_ioc (m, "http://203.0.113.9:81/a")->detect);
    x = s_t_ioc (m, "203.0.113.5");
    IH_CHECK (!x->detect && streq (x->comment, ""));
    x = s_t_ioc (m, "2001:db8::dead");
    IH_CHECK (!x->detect && strlen (x->comment) <= IH_MAX_IOC_COMMENT);
    IH_CHECK (strstr (x->comment, "xxx; documentation range (RFC 3849)"));
    ih_import_t_reset (&g);
    g.o.keep_detect = true;
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, (const char *) wcsv.data) == 0 && g.rep.detect_off == 0);
    IH_CHECK (s_t_ioc (&g.msgs [0], "www.google.com")->detect && s_t_ioc (&g.msgs [0], "192.0.2.1")->detect);
    ih_import_t_reset (&g);
    g.o.keep_detect = false;
    g.o.warninglist = NULL;
    g.o.tlp = -1;
    g.o.title = NULL;
    ih_buf_free (&wcsv);
    ih_warninglist_destroy (&wl);
    ih_tk_rmtree (base);

    //  AUDIENCE: recipients as far as the TLP carries them; a list that empties narrows.
    const char *rcsv =
        "alert_id,tlp,title,value,recipients\n"
        "r1,AMBER,Sector,evil-r1.xyz,sector:telecom;bank-x\n"
        "r2,RED,Red,evil-r2.xyz,sector:telecom;bank-x\n"
        "r3,AMBER,Bad list,evil-r3.xyz,Not A Slug\n"
        "r4,GREEN,Green,evil-r4.xyz,bank-x\n"
        "r5,AMBER,Everyone,evil-r5.xyz,\n";
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, rcsv) == 0 && g.n == 5);
    m = s_t_find (&g, "Sector");
    IH_CHECK (m->tlp == IH_TLP_AMBER && m->recipients.count == 2 && ih_strlist_has (&m->recipients, "sector:telecom"));
    m = s_t_find (&g, "Red");
    IH_CHECK (m->tlp == IH_TLP_RED && m->recipients.count == 1 && streq (m->recipients.items [0], "bank-x"));
    m = s_t_find (&g, "Bad list");
    IH_CHECK (m->tlp == IH_TLP_RED && m->recipients.count == 0);
    IH_CHECK (s_t_find (&g, "Green")->recipients.count == 0 && s_t_find (&g, "Green")->tlp == IH_TLP_GREEN);
    IH_CHECK (s_t_find (&g, "Everyone")->tlp == IH_TLP_AMBER && s_t_find (&g, "Everyone")->recipients.count == 0);
    IH_CHECK (g.rep.narrowed == 1 && streq (g.notes, "Bad list: narrowed to TLP:RED for bank-b alone: none of the"
                                            " recipients it names could be kept\n"));
    IH_CHECK (ih_import_t_skipped (&g.rep, "recipient that is no org id or sector:S") == 1);
    IH_CHECK (ih_import_t_skipped (&g.rep, "sector recipient of an AMBER+STRICT or RED alert") == 1);
    ih_import_t_reset (&g);

    //  An Infohub CSV export without recipients: AMBER narrowed, unless --tlp says;
    //  ATTRIBUTION from its org column, none for the importing org's own alerts.
    const char *ecsv =
        "alert_id,revision,org,tlp,title,value\n"
        "e1,1,bank-a,AMBER,Amber,evil-e1.xyz\n"
        "e2,3,bank-a,GREEN,Green,evil-e2.xyz\n"
        "e3,1,bank-b,GREEN,Own,evil-e3.xyz\n";
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, ecsv) == 0 && g.n == 3 && g.rep.narrowed == 1);
    m = s_t_find (&g, "Amber");
    IH_CHECK (m->tlp == IH_TLP_RED && strstr (g.notes, "Amber: narrowed to TLP:RED for bank-b alone: AMBER in an"
                                                      " Infohub CSV export without a recipients column"));
    m = s_t_find (&g, "Green");
    IH_CHECK (m->tlp == IH_TLP_GREEN && ih_strlist_has (&m->tags, "source:bank-a"));
    IH_CHECK (streq (m->summary, "Originally published by bank-a."));
    m = s_t_find (&g, "Own");
    IH_CHECK (m->tags.count == 0 && streq (m->summary, ""));
    ih_import_t_reset (&g);
    g.o.tlp = IH_TLP_AMBER;
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_CSV, ecsv) == 0 && g.rep.narrowed == 0);
    IH_CHECK (s_t_find (&g, "Amber")->tlp == IH_TLP_AMBER && strstr (g.notes, "Amber: TLP:AMBER as --tlp says"));
    ih_import_t_reset (&g);
    g.o.tlp = -1;

    //  ATTRIBUTION: a long name cut to a tag's 64 bytes; a summary attributed already (an
    //  import of an import) is not attributed twice; a name ending in '.' keeps one.
    const char *misp =
        "[{\"Event\":{\"info\":\"Long\",\"Orgc\":{\"name\":\"Computer Incident Response Center Luxembourg and"
        " friends of the same\"},\"Tag\":[{\"name\":\"tlp:green\"}],\"Attribute\":[{\"type\":\"domain\","
        "\"value\":\"evil-l.xyz\"}]}},"
        "{\"Event\":{\"info\":\"Again\",\"Orgc\":{\"name\":\"CIRCL.\"},\"Tag\":[{\"name\":\"tlp:green\"}],"
        "\"Attribute\":[{\"type\":\"text\",\"comment\":\"summary\","
        "\"value\":\"Originally published by CIRCL.\\n\\nBody\"},"
        "{\"type\":\"domain\",\"value\":\"evil-a.xyz\"}]}}]";
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_MISP, misp) == 0 && g.n == 2);
    m = s_t_find (&g, "Long");
    IH_CHECK (m->tags.count == 1 && strlen (m->tags.items [0]) <= IH_MAX_SHORT);
    IH_CHECK (strncmp (m->tags.items [0], "source:Computer Incident", 24) == 0);
    IH_CHECK (strncmp (m->summary, "Originally published by Computer Incident Response Center Luxembourg and"
                       " friends of the same.", 94) == 0);
    m = s_t_find (&g, "Again");
    IH_CHECK (streq (m->summary, "Originally published by CIRCL.\n\nBody"));
    IH_CHECK (ih_strlist_has (&m->tags, "source:CIRCL."));
    ih_import_t_reset (&g);

    //  The report line: counts, reasons, narrowing, detect off, what was left out.
    ih_import_report_t r;
    memset (&r, 0, sizeof r);
    r.outcome [IH_IMPORT_NEW] = 2;
    r.outcome [IH_IMPORT_UNCHANGED] = 1;
    r.outcome [IH_IMPORT_KNOWN] = 1;
    r.outcome [IH_IMPORT_REFUSED] = 2;
    ih_import_count (r.refused, IH_IMPORT_REASONS, "no TLP marking (give --tlp)");
    ih_import_count (r.refused, IH_IMPORT_REASONS, "no TLP marking (give --tlp)");
    r.narrowed = 1;
    ih_import_count (r.narrow, IH_IMPORT_REASONS, "MISP sharing group");
    r.detect_off = 3;
    ih_import_count (r.skipped, IH_IMPORT_KINDS, "relationship");
    char line [2048];
    ih_import_report_line (&r, line, sizeof line);
    if (verbose)
        printf ("\n    %s", line);
    IH_CHECK (streq (line, "2 new, 0 revised, 2 unchanged, 2 not imported (2 no TLP marking (give --tlp)); 1 of the"
                     " unchanged not in this agent's store yet, only at the broker (is its agent running?); 1"
                     " narrowed to TLP:RED for this org alone (1 MISP sharing group); 3 IOCs with detect off (on a"
                     " warninglist or in a documentation range); left out: 1 relationship"));
    //  A small buffer cuts, never overruns.
    char small [16];
    ih_import_report_line (&r, small, sizeof small);
    IH_CHECK (strlen (small) == 15);
}
#endif
