/*  ih_export_misp.c: the misp export, and misp-feed, the same events as a directory a
    MISP instance pulls as a feed (ih_export.h documents both).

    Events are written by hand, like the text formats (ih_export.c says why). Their uuids
    are derived as the STIX ids are (ih_stix.h): an event is its alert's id, an attribute
    the uuid of the IOC's STIX indicator, the Orgc the publisher identity's; so the MISP
    and the STIX export of one alert name everything alike, export after export.
*/
#include <czmq.h>
#include <nettle/md5.h>
#include <errno.h>
#include <inttypes.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ih_export_priv.h"
#include "ih_stix.h"

static const char *s_tlp_lower [IH_TLP_COUNT] = { "clear", "green", "amber", "amber+strict", "red" };

/*  MD5 (RFC 1321, nettle): MISP feeds index values by it in hashes.csv. */
static void
s_md5 (const uint8_t *msg, size_t len, uint8_t out [16])
{
    struct md5_ctx ctx;
    md5_init (&ctx);
    md5_update (&ctx, len, msg);
    md5_digest (&ctx, MD5_DIGEST_SIZE, out);
}

/* ---- events ----------------------------------------------------------------------------- */

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
    ih_export_puts (self, *first ? "{\"name\":" : ",{\"name\":");
    ih_export_json_str (self, name);
    ih_export_put (self, "}", 1);
    *first = false;
}

/*  The Tag array and Orgc object, shared by events and the feed manifest. */
static void
s_misp_tags_orgc (ih_export_t *self, const ih_msg_t *m)
{
    char orgc [IH_STIX_ID_MAX];
    ih_stix_identity_id (m->org, orgc);
    ih_export_puts (self, ",\"Orgc\":{\"name\":");
    ih_export_json_str (self, m->org);
    ih_export_putf (self, ",\"uuid\":\"%s\"},\"Tag\":[", orgc + strlen ("identity--"));
    bool first = true;
    s_misp_tag (self, &first, "tlp:%s", s_tlp_lower [m->tlp]);
    s_misp_tag (self, &first, "infohub:severity=\"%s\"", ih_severity_name (m->severity));
    s_misp_tag (self, &first, "infohub:category=\"%s\"", ih_category_name (m->category));
    for (uint32_t i = 0; i < m->sectors.count; i++)
        s_misp_tag (self, &first, "infohub:sector=\"%s\"", m->sectors.items [i]);
    //  Who the alert was for and who published it, so that an import elsewhere never
    //  widens the audience (ih_export.h).
    s_misp_tag (self, &first, "infohub:publisher=\"%s\"", m->org);
    for (uint32_t i = 0; i < m->recipients.count; i++)
        s_misp_tag (self, &first, "infohub:recipient=\"%s\"", m->recipients.items [i]);
    for (uint32_t i = 0; i < m->tags.count; i++)
        s_misp_tag (self, &first, "%s", m->tags.items [i]);
    ih_export_put (self, "]", 1);
}

/*  One attribute of event m; for misp-feed also its hashes.csv line, md5(value),event
    uuid: MISP indexes every attribute of a feed by it, whatever its type. */
static void
s_misp_attr (ih_export_t *self, const ih_msg_t *m, bool *first, const char *uuid, const char *type,
             const char *category, const char *value, bool to_ids, const char *comment, const char *ts)
{
    ih_export_putf (self, "%s{\"uuid\":\"%s\",\"type\":\"%s\",\"category\":\"%s\",\"value\":", *first ? "" : ",",
                    uuid, type, category);
    ih_export_json_str (self, value);
    ih_export_putf (self, ",\"to_ids\":%s,\"comment\":", to_ids ? "true" : "false");
    ih_export_json_str (self, comment);
    ih_export_putf (self, ",\"timestamp\":\"%s\",\"distribution\":\"5\"}", ts);
    *first = false;
    if (self->hashes) {
        uint8_t h [16];
        char hex [33];
        s_md5 ((const uint8_t *) value, strlen (value), h);
        ih_hex_encode (h, 16, hex);
        if (fprintf (self->hashes, "%s,%s\n", hex, m->id) < 0)
            self->failed = true;
    }
}

/*  {"Event": {...}}; for misp-feed also the hashes.csv lines of its attributes. */
static void
s_misp_event (ih_export_t *self, const ih_msg_t *m)
{
    char ts [24], date [16], created [IH_TIME_MAX];
    snprintf (ts, sizeof ts, "%" PRId64, m->modified / 1000);
    ih_time_format (m->created, created);
    snprintf (date, sizeof date, "%.10s", created);
    ih_export_putf (self, "{\"Event\":{\"uuid\":\"%s\",\"info\":", m->id);
    ih_export_json_str (self, m->title);
    ih_export_putf (self, ",\"date\":\"%s\",\"threat_level_id\":\"%s\",\"analysis\":\"2\",\"distribution\":\"%s\","
                    "\"published\":true,\"timestamp\":\"%s\",\"publish_timestamp\":\"%s\"", date,
                    s_misp_threat_level (m->severity), s_misp_distribution (m->tlp), ts, ts);
    s_misp_tags_orgc (self, m);
    ih_export_puts (self, ",\"Attribute\":[");
    bool first = true;
    char uuid [IH_UUID_LEN + 1];
    ih_buf_t *t = &self->tmp;
    if (m->summary [0]) {
        ih_buf_reset (t);
        ih_buf_append (t, "summary|", 8);
        ih_buf_append (t, m->id, strlen (m->id));
        ih_stix_uuid5 ((const char *) t->data, t->len, uuid);
        s_misp_attr (self, m, &first, uuid, "text", "Other", m->summary, false, "summary", ts);
    }
    for (uint32_t i = 0; i < m->references.count; i++) {
        ih_buf_reset (t);
        ih_buf_append (t, "link|", 5);
        ih_buf_append (t, m->id, strlen (m->id));
        ih_buf_append (t, "|", 1);
        ih_buf_append (t, m->references.items [i], strlen (m->references.items [i]));
        ih_stix_uuid5 ((const char *) t->data, t->len, uuid);
        s_misp_attr (self, m, &first, uuid, "link", "External analysis", m->references.items [i], false,
                     "reference", ts);
    }
    for (uint32_t i = 0; i < self->nsel; i++) {
        const ih_ioc_t *ioc = &self->sel [i];
        char id [IH_STIX_ID_MAX];
        ih_stix_ioc_id ("indicator", m->id, ioc, id);       //  a CVE's too: one kind of attribute
        const char *category;
        const char *type = s_misp_type (ioc, &category);
        s_misp_attr (self, m, &first, id + strlen ("indicator--"), type, category, ioc->value, ioc->detect,
                     ioc->comment, ts);
        self->stats.iocs++;
    }
    ih_export_puts (self, "]}}");
}

/* ---- misp --------------------------------------------------------------------------------- */

static void
s_misp_begin (ih_export_t *self)
{
    ih_export_puts (self, "{\"response\":[");
}

static int
s_misp_alert (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info, ih_err_t *err)
{
    ih_export_puts (self, self->objects++ ? ",\n" : "\n");
    s_misp_event (self, m);
    return 0;
}

static void
s_misp_end (ih_export_t *self)
{
    ih_export_puts (self, "\n]}\n");
}

const ih_export_writer_t ih_export_misp_writer = {
    .begin = s_misp_begin, .alert = s_misp_alert, .end = s_misp_end
};

/* ---- misp-feed ---------------------------------------------------------------------------- */

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

/*  The directory, a start marker (what is older is from earlier exports: s_feed_sweep),
    and manifest.json and hashes.csv under temporary names; the output goes to the
    manifest. */
static int
s_feed_open (ih_export_t *self, const char *dir, ih_err_t *err)
{
    self->dir = strdup (dir);
    if (!self->dir)
        abort ();
    if (s_mkdir_p (dir, err) != 0)
        return -1;
    snprintf (self->marker, sizeof self->marker, "%s/.infohub-export", dir);
    FILE *mk = fopen (self->marker, "w");
    if (mk)
        fclose (mk);
    else
        self->marker [0] = 0;
    self->manifest = s_open_tmp (dir, "manifest.json", err);
    self->hashes = self->manifest ? s_open_tmp (dir, "hashes.csv", err) : NULL;
    if (!self->hashes)
        return -1;
    self->cur_sink = ih_export_sink_file;
    self->cur_arg = self->manifest;
    return 0;
}

static void
s_feed_begin (ih_export_t *self)
{
    ih_export_puts (self, "{");
}

/*  The event into DIR/<uuid>.json (via a temporary name), its manifest entry into the
    manifest. */
static int
s_feed_alert (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info, ih_err_t *err)
{
    char path [4200], tmp [4300];
    snprintf (path, sizeof path, "%s/%s.json", self->dir, m->id);
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen (tmp, "w");
    if (!f) {
        self->failed = true;
        return 0;
    }
    ih_export_flush (self);
    self->cur_sink = ih_export_sink_file;
    self->cur_arg = f;
    s_misp_event (self, m);
    ih_export_put (self, "\n", 1);
    ih_export_flush (self);
    if (fclose (f) != 0 || self->failed || rename (tmp, path) != 0) {
        unlink (tmp);
        self->failed = true;
    }
    //  manifest entry
    self->cur_arg = self->manifest;
    char ts [24], created [IH_TIME_MAX];
    snprintf (ts, sizeof ts, "%" PRId64, m->modified / 1000);
    ih_time_format (m->created, created);
    ih_export_putf (self, "%s\"%s\":{\"info\":", self->manifest_items++ ? ",\n" : "\n", m->id);
    ih_export_json_str (self, m->title);
    ih_export_putf (self, ",\"analysis\":\"2\",\"timestamp\":\"%s\",\"date\":\"%.10s\",\"threat_level_id\":\"%s\"",
                    ts, created, s_misp_threat_level (m->severity));
    s_misp_tags_orgc (self, m);
    ih_export_put (self, "}", 1);
    return 0;
}

static void
s_feed_end (ih_export_t *self)
{
    ih_export_puts (self, "\n}\n");
}

/*  Drops event files that this export did not write (alerts since retracted or filtered
    out), recognised as <uuid>.json older than the start marker. */
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

/*  Closes the manifest and hashes and renames them into place, manifest last, so a MISP
    pulling the feed never reads a half-written one; then sweeps. */
static void
s_feed_close (ih_export_t *self)
{
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

/*  An unfinished feed: nothing half-written keeps a final name. */
static void
s_feed_discard (ih_export_t *self)
{
    if (!self->manifest && !self->hashes)
        return;
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

const ih_export_writer_t ih_export_feed_writer = {
    .open = s_feed_open, .begin = s_feed_begin, .alert = s_feed_alert, .end = s_feed_end,
    .close = s_feed_close, .discard = s_feed_discard
};

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

void
ih_export_misp_test (bool verbose)
{
    //  MD5 against published vectors.
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

    ih_export_t_fixture_t f;
    ih_export_t_fixture (&f);

    //  misp: two events, tags, attributes with to_ids, uuids shared with STIX.
    char *out = ih_export_t_run (&f, IH_EXPORT_MISP, 3);
    if (verbose)
        printf ("%.600s…\n", out);
    json_error_t jerr;
    json_t *j = json_loads (out, 0, &jerr);
    IH_CHECK (j && f.st.alerts == 2 && f.st.iocs == 22);
    json_t *resp = json_object_get (j, "response");
    IH_CHECK (json_array_size (resp) == 2);
    json_t *ev = json_object_get (json_array_get (resp, 0), "Event");
    IH_CHECK (streq (json_string_value (json_object_get (ev, "uuid")), f.msgs [0].id));
    IH_CHECK (streq (json_string_value (json_object_get (ev, "threat_level_id")), "1"));
    IH_CHECK (streq (json_string_value (json_object_get (ev, "distribution")), "0"));
    json_t *tags = json_object_get (ev, "Tag");
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (tags, 0), "name")), "tlp:amber"));
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (tags, 3), "name")),
                     "infohub:sector=\"finance\""));
    //  The publisher and the recipients follow (the fixture's AMBER alert names two).
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (tags, 4), "name")),
                     "infohub:publisher=\"bank-a\""));
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (tags, 5), "name")),
                     "infohub:recipient=\"bank-b\""));
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (tags, 6), "name")),
                     "infohub:recipient=\"sector:energy\""));
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (tags, 7), "name")), "wave; two"));
    char id [IH_STIX_ID_MAX];
    ih_stix_identity_id ("bank-a", id);
    IH_CHECK (streq (json_string_value (json_object_get (json_object_get (ev, "Orgc"), "uuid")), id + 10));
    json_t *attrs = json_object_get (ev, "Attribute");
    IH_CHECK (json_array_size (attrs) == 2 + 11);     //  summary, link, IOCs
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (attrs, 0), "value")), f.msgs [0].summary));
    json_t *md5 = json_array_get (attrs, 2 + 6);
    IH_CHECK (streq (json_string_value (json_object_get (md5, "type")), "md5"));
    IH_CHECK (json_is_false (json_object_get (md5, "to_ids")));
    ih_stix_ioc_id (NULL, f.msgs [0].id, &f.msgs [0].iocs [0], id);
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (attrs, 2), "uuid")), id + 11));
    json_decref (j);
    free (out);
    out = ih_export_t_run (&f, IH_EXPORT_MISP, 0);
    IH_CHECK (streq (out, "{\"response\":[\n]}\n"));
    free (out);

    //  misp-feed into a directory: manifest, hashes, one file per event; a stale event
    //  file of an earlier export is swept.
    char dir [256], feed [300], path [512], stale [512];
    ih_tk_tempdir ("export-misp", dir, sizeof dir);
    ih_tk_path (feed, sizeof feed, dir, "feed");
    ih_err_t err = { "" };
    ih_export_t *x = ih_export_new (IH_EXPORT_MISP_FEED, &f.o, NULL, NULL, feed, &err);
    IH_CHECK (x);
    snprintf (stale, sizeof stale, "%s/%s.json", feed, f.msgs [1].id);
    FILE *wf = fopen (stale, "w");
    IH_CHECK (wf);
    fclose (wf);
    struct timespec ts [2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    IH_CHECK (utimensat (AT_FDCWD, stale, ts, 0) == 0);
    for (int i = 0; i < 3; i++)
        IH_CHECK (ih_export_alert (x, &f.msgs [i], &f.infos [i], &err) == 0);
    IH_CHECK (ih_export_finish (x, &err) == 0);
    ih_export_destroy (&x);
    IH_CHECK (access (stale, F_OK) != 0);
    IH_CHECK (ih_fmt (path, sizeof path, "%s/manifest.json", feed));
    j = json_load_file (path, 0, &jerr);
    IH_CHECK (j && json_object_size (j) == 2 && json_object_get (j, f.msgs [0].id));
    IH_CHECK (json_object_get (json_object_get (j, f.msgs [2].id), "Tag"));
    json_decref (j);
    IH_CHECK (ih_fmt (path, sizeof path, "%s/%s.json", feed, f.msgs [0].id));
    j = json_load_file (path, 0, &jerr);
    IH_CHECK (j && json_object_get (j, "Event"));
    json_decref (j);
    unlink (path);
    IH_CHECK (ih_fmt (path, sizeof path, "%s/hashes.csv", feed));
    FILE *hf = fopen (path, "r");
    IH_CHECK (hf);
    //  Every attribute of every event: per event 11 IOCs, the summary (text) and the
    //  reference (link).
    char line [256], ip [33], text [33], link [33];
    size_t lines = 0;
    int seen = 0;
    s_md5 ((const uint8_t *) "45.33.32.156", 12, h);
    ih_hex_encode (h, 16, ip);
    s_md5 ((const uint8_t *) f.msgs [0].summary, strlen (f.msgs [0].summary), h);
    ih_hex_encode (h, 16, text);
    s_md5 ((const uint8_t *) "https://ref.example.net/a", 25, h);
    ih_hex_encode (h, 16, link);
    while (fgets (line, sizeof line, hf)) {
        lines++;
        IH_CHECK (strlen (line) == 32 + 1 + IH_UUID_LEN + 1 && line [32] == ',');
        IH_CHECK (strncmp (line + 33, f.msgs [0].id, IH_UUID_LEN) == 0 || strncmp (line + 33, f.msgs [2].id, IH_UUID_LEN) == 0);
        seen |= (strncmp (line, ip, 32) == 0) | (strncmp (line, text, 32) == 0) << 1 | (strncmp (line, link, 32) == 0) << 2;
    }
    fclose (hf);
    IH_CHECK (lines == 2 * (11 + 2) && seen == 7);
    unlink (path);
    IH_CHECK (ih_fmt (path, sizeof path, "%s/manifest.json", feed));
    unlink (path);
    IH_CHECK (ih_fmt (path, sizeof path, "%s/%s.json", feed, f.msgs [2].id));
    unlink (path);
    IH_CHECK (rmdir (feed) == 0);                   //  nothing else left: no marker, no .tmp
    //  An unfinished feed leaves no manifest behind.
    x = ih_export_new (IH_EXPORT_MISP_FEED, &f.o, NULL, NULL, feed, &err);
    IH_CHECK (x);
    ih_export_destroy (&x);
    IH_CHECK (rmdir (feed) == 0);
    //  A feed directory that cannot be one.
    IH_CHECK (ih_fmt (path, sizeof path, "%s/file", dir));
    wf = fopen (path, "w");
    IH_CHECK (wf);
    fclose (wf);
    IH_CHECK (ih_export_new (IH_EXPORT_MISP_FEED, &f.o, NULL, NULL, path, &err) == NULL);
    IH_CHECK (strstr (err.msg, "not a directory"));
    ih_tk_rmtree (dir);

    ih_export_t_fixture_free (&f);
}
#endif
