/*  ih_import_misp.c: MISP events into alert drafts (ih_import.h documents what is read):
    one alert per event, from its tags, threat level, distribution, creator org,
    attributes and object attributes; and MISP feed directories (manifest.json and the
    event files it lists), read one event file at a time so memory stays flat.
*/
#include <czmq.h>
#include <sys/stat.h>

#include "ih_import_priv.h"

/*  A value of a MISP field that is a string ("0") or, in some exports, a number. */
static bool
s_misp_num (json_t *v, const char *want)
{
    char buf [24];
    if (json_is_integer (v))
        snprintf (buf, sizeof buf, "%lld", (long long) json_integer_value (v));
    else
        snprintf (buf, sizeof buf, "%s", json_is_string (v) ? json_string_value (v) : "");
    return streq (buf, want);
}

/*  An infohub:KEY="VALUE" machine tag: key and value (cut to their buffers' sizes), or
    false. */
static bool
s_machine_tag (const char *name, char *key, size_t keysz, char *value, size_t valuesz)
{
    if (strncmp (name, "infohub:", 8) != 0)
        return false;
    const char *eq = strchr (name, '=');
    size_t kl = eq ? (size_t) (eq - name - 8) : 0;
    size_t vl = eq ? strlen (eq + 1) : 0;
    if (!eq || kl >= keysz || vl < 2 || vl - 2 >= valuesz || eq [1] != '"' || eq [vl] != '"')
        return false;
    memcpy (key, name + 8, kl);
    key [kl] = 0;
    memcpy (value, eq + 2, vl - 2);
    value [vl - 2] = 0;
    return true;
}

/*  Tags of an event: TLP, infohub:key="value" machine tags, the rest as tags. */
static void
s_misp_tags (ih_import_job_t *job, ih_import_draft_t *d, json_t *tags)
{
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t) {
        const char *name = json_string_value (json_object_get (t, "name"));
        if (!name)
            continue;
        ih_tlp_t tlp;
        if (strncasecmp (name, "tlp:", 4) == 0 && ih_tlp_parse (name + 4, &tlp) == 0) {
            ih_import_draft_tlp (d, (int) tlp);
            continue;
        }
        char key [32], value [IH_MAX_SHORT * 2 + 1];
        if (s_machine_tag (name, key, sizeof key, value, sizeof value)) {
            ih_severity_t sev;
            ih_category_t cat;
            if (streq (key, "severity") && ih_severity_parse (value, &sev) == 0)
                d->m.severity = sev;
            else
            if (streq (key, "category") && ih_category_parse (value, &cat) == 0)
                d->m.category = cat;
            else
            if (streq (key, "sector"))
                ih_import_draft_sector (job, d, value);
            else
            if (streq (key, "recipient"))
                ih_import_draft_recipient (job, d, value);
            else
            if (streq (key, "publisher"))
                ih_import_draft_publisher (d, value);
            else
                ih_import_draft_tag (job, d, name);
            continue;
        }
        ih_import_draft_tag (job, d, name);
    }
}

/*  Whether a distribution setting (an event's or an attribute's) shares with a MISP
    sharing group, which Infohub has no equivalent for. */
static bool
s_misp_sharing_group (json_t *o)
{
    json_t *sg = json_object_get (o, "sharing_group_id");
    return s_misp_num (json_object_get (o, "distribution"), "4") || json_is_object (json_object_get (o, "SharingGroup"))
        || (sg && !json_is_null (sg) && !s_misp_num (sg, "0") && !s_misp_num (sg, ""));
}

static int
s_misp_attribute (ih_import_job_t *job, ih_import_draft_t *d, json_t *a)
{
    const char *type = json_string_value (json_object_get (a, "type"));
    const char *value = json_string_value (json_object_get (a, "value"));
    if (!type || !value) {
        ih_import_skip (job, "MISP attribute without type or value");
        return 0;
    }
    json_t *del = json_object_get (a, "deleted");
    if (json_is_true (del)) {
        ih_import_skip (job, "deleted MISP attribute");
        return 0;
    }
    //  An attribute kept to fewer than its event is shared with: not in this alert.
    if (!d->narrow [0] && (s_misp_num (json_object_get (a, "distribution"), "0") || s_misp_sharing_group (a))) {
        ih_import_skip (job, "MISP attribute shared more narrowly than its event");
        return 0;
    }
    const char *comment = json_string_value (json_object_get (a, "comment"));
    json_t *ids = json_object_get (a, "to_ids");
    bool detect = json_is_boolean (ids) ? json_is_true (ids)
                : json_is_string (ids) ? streq (json_string_value (ids), "1") : true;
    if (streq (type, "link")) {
        ih_import_draft_reference (job, d, value);
        return 0;
    }
    if (streq (type, "text") && comment && streq (comment, "summary") && !d->m.summary [0]) {
        ih_import_draft_summary (d, value, strlen (value));
        return 0;
    }
    //  Composite types: "a|b".
    const char *bar = strchr (type, '|');
    if (bar) {
        char left [IH_MAX_IOC_VALUE + 1], right [IH_MAX_IOC_VALUE + 1];
        const char *vbar = strchr (value, '|');
        if (!vbar || (size_t) (vbar - value) > IH_MAX_IOC_VALUE || strlen (vbar + 1) > IH_MAX_IOC_VALUE) {
            ih_import_skip (job, "MISP attribute %.24s without its '|'", type);
            return 0;
        }
        snprintf (left, sizeof left, "%.*s", (int) (vbar - value), value);
        snprintf (right, sizeof right, "%s", vbar + 1);
        char t1 [32], t2 [32];
        snprintf (t1, sizeof t1, "%.*s", (int) (bar - type), type);
        snprintf (t2, sizeof t2, "%s", bar + 1);
        ih_ioc_type_t a1, a2;
        bool port = streq (t2, "port");
        if (ih_import_type_for (t1, left, &a1) != 0 || (!port && ih_import_type_for (t2, right, &a2) != 0)) {
            ih_import_skip (job, "MISP attribute type %.32s", type);
            return 0;
        }
        char c [IH_MAX_IOC_COMMENT + 1];
        ih_fmt (c, sizeof c, "%s%sport %s", comment ? comment : "", comment && *comment ? "; " : "", right);
        if (ih_import_draft_ioc (job, d, a1, left, port ? c : comment, detect) != 0)
            return -1;
        return port ? 0 : ih_import_draft_ioc (job, d, a2, right, comment, detect);
    }
    ih_ioc_type_t t;
    if (ih_import_type_for (type, value, &t) != 0 || streq (type, "uri")) {
        ih_import_skip (job, "MISP attribute type %.32s", type);
        return 0;
    }
    return ih_import_draft_ioc (job, d, t, value, comment, detect);
}

static int
s_misp_event (ih_import_job_t *job, json_t *ev)
{
    const char *info = json_string_value (json_object_get (ev, "info"));
    //  IDS (ih_import.h): the event's uuid; an event without one is known by its content.
    const char *uuid = json_string_value (json_object_get (ev, "uuid"));
    char source [IH_UUID_LEN + 8];
    if (uuid && strlen (uuid) <= IH_UUID_LEN)
        snprintf (source, sizeof source, "%s", uuid);
    else {
        char *text = json_dumps (ev, JSON_COMPACT | JSON_SORT_KEYS);
        char digest [IH_UUID_LEN + 1];
        ih_import_digest (text ? text : "", text ? strlen (text) : 0, digest);
        snprintf (source, sizeof source, "event:%s", digest);
        free (text);
    }
    ih_import_draft_t d;
    ih_import_draft_init (job, &d, info ? info : job->opts->title, source);
    json_t *tags = json_object_get (ev, "Tag");
    s_misp_tags (job, &d, tags);
    ih_import_draft_publisher (&d, json_string_value (json_object_get (json_object_get (ev, "Orgc"), "name")));
    //  AUDIENCE (ih_import.h). Infohub's own events carry infohub: tags, which say the
    //  audience; their distribution 0 only keeps MISP from syncing AMBER and above on.
    bool ours = false, sev_tagged = false;
    size_t i;
    json_t *x;
    json_array_foreach (tags, i, x) {
        const char *n = json_string_value (json_object_get (x, "name"));
        ours |= n && strncmp (n, "infohub:", 8) == 0;
        sev_tagged |= n && strncmp (n, "infohub:severity=", 17) == 0;
    }
    if (s_misp_sharing_group (ev))
        ih_import_draft_narrow (&d, "MISP sharing group");
    else
    if (!ours && s_misp_num (json_object_get (ev, "distribution"), "0"))
        ih_import_draft_narrow (&d, "MISP distribution 0 (your organisation only)");
    //  threat_level_id applies when no infohub:severity tag said otherwise.
    const char *tl = json_string_value (json_object_get (ev, "threat_level_id"));
    if (tl && !sev_tagged)
        d.m.severity = streq (tl, "1") ? IH_SEV_HIGH : streq (tl, "2") ? IH_SEV_MEDIUM
                     : streq (tl, "3") ? IH_SEV_LOW : job->opts->severity;
    int rc = 0;
    json_array_foreach (json_object_get (ev, "Attribute"), i, x)
        if (rc == 0)
            rc = s_misp_attribute (job, &d, x);
    json_t *obj;
    json_array_foreach (json_object_get (ev, "Object"), i, obj) {
        size_t k;
        json_array_foreach (json_object_get (obj, "Attribute"), k, x)
            if (rc == 0)
                rc = s_misp_attribute (job, &d, x);
    }
    json_array_foreach (json_object_get (ev, "Galaxy"), i, x)
        ih_import_skip (job, "MISP galaxy");
    json_array_foreach (json_object_get (ev, "EventReport"), i, x)
        ih_import_skip (job, "MISP event report");
    return ih_import_draft_done (job, &d, rc);
}

/*  Whether doc is a feed manifest: an object keyed by event uuids, each with an info. */
static bool
s_misp_is_manifest (json_t *doc)
{
    const char *key;
    json_t *v;
    json_object_foreach (doc, key, v)
        return ih_uuid_valid (key) && json_is_object (v) && json_object_get (v, "info");
    return false;
}

/*  The events of one document (an event, a response, an array); counts them. */
static int
s_misp_doc (ih_import_job_t *job, json_t *doc, size_t *events)
{
    json_t *list = json_object_get (doc, "response");
    if (!list)
        list = doc;
    if (json_is_object (list) && json_object_get (list, "Event")) {
        (*events)++;
        return s_misp_event (job, json_object_get (list, "Event"));
    }
    size_t i;
    json_t *e;
    json_array_foreach (list, i, e) {
        json_t *ev = json_object_get (e, "Event");
        if (!ev) {
            ih_import_skip (job, "array entry without an Event");
            continue;
        }
        (*events)++;
        int rc = s_misp_event (job, ev);
        if (rc)
            return rc;
    }
    return 0;
}

int
ih_import_read_misp (ih_import_job_t *job, const char *data, size_t len)
{
    json_t *doc = ih_import_json (job, data, len);
    if (!doc)
        return -1;
    size_t events = 0;
    int rc = s_misp_doc (job, doc, &events);
    bool manifest = events == 0 && json_is_object (doc) && s_misp_is_manifest (doc);
    json_decref (doc);
    if (rc == 0 && manifest)
        return ih_err_set (job->err, "misp: this is a MISP feed manifest: import the directory that holds it"
                           " (manifest.json and the event files)");
    if (rc == 0 && events == 0)
        return ih_err_set (job->err, "misp: no Event in the input (expected {\"Event\": …} or "
                           "{\"response\": [{\"Event\": …}]})");
    return rc;
}

/* ---- MISP feeds --------------------------------------------------------------------------- */

#define s_MAX_FILE  (64 << 20)

int
ih_import_feed_manifest (const char *data, size_t len, ih_import_uuid_fn *fn, void *arg, size_t *bad,
                         ih_err_t *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return ih_err_set (err, "manifest.json: not JSON: %s (line %d)", jerr.text, jerr.line);
    if (!json_is_object (doc)) {
        json_decref (doc);
        return ih_err_set (err, "manifest.json: not a MISP feed manifest (an object keyed by event uuid)");
    }
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach (doc, key, v) {
        //  The uuid names a file: only a lower-case UUID, never a path.
        if (!ih_uuid_valid (key)) {
            if (bad)
                (*bad)++;
            continue;
        }
        if ((rc = fn (key, arg)) != 0)
            break;
    }
    json_decref (doc);
    return rc;
}

typedef struct {
    ih_import_job_t *job;
    const char *dir;
    size_t events;
} s_feed_t;

static int
s_feed_event (const char *uuid, void *arg)
{
    s_feed_t *f = (s_feed_t *) arg;
    ih_import_job_t *job = f->job;
    char path [4200];
    snprintf (path, sizeof path, "%s/%s.json", f->dir, uuid);
    struct stat st;
    if (stat (path, &st) != 0) {
        ih_import_skip (job, "feed event without its file");
        return 0;
    }
    ih_err_t ferr = { "" };
    size_t len = 0;
    char *data = ih_file_read (path, s_MAX_FILE, &len, &ferr);
    if (!data) {
        ih_import_skip (job, "feed event file that cannot be read");
        return 0;
    }
    json_error_t jerr;
    json_t *doc = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
    free (data);
    if (!doc) {
        ih_import_skip (job, "feed event file that is not JSON");
        return 0;
    }
    size_t before = f->events;
    int rc = s_misp_doc (job, doc, &f->events);
    json_decref (doc);
    if (rc == 0 && f->events == before)
        ih_import_skip (job, "feed event file without an Event");
    return rc;
}

int
ih_import_read_misp_feed (ih_import_job_t *job, const char *dir)
{
    char path [4200];
    snprintf (path, sizeof path, "%s/manifest.json", dir);
    size_t len = 0;
    char *data = ih_file_read (path, s_MAX_FILE, &len, job->err);
    if (!data) {
        ih_err_prefix (job->err, "misp: %s is no MISP feed", dir);
        return -1;
    }
    s_feed_t f = { job, dir, 0 };
    size_t bad = 0;
    int rc = ih_import_feed_manifest (data, len, s_feed_event, &f, &bad, job->err);
    free (data);
    for (size_t i = 0; i < bad; i++)
        ih_import_skip (job, "feed manifest key that is no event uuid");
    if (rc && !job->stopped)
        ih_err_prefix (job->err, "misp: %s", dir);
    return rc ? -1 : 0;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_stix.h"
#include "ih_testkit.h"

void
ih_import_misp_test (bool verbose)
{
    ih_import_t_fixture_t g;
    ih_import_t_fixture (&g);

    //  MISP: tags (TLP:WHITE is CLEAR), composite attributes, links, objects, and skips.
    const char *misp =
        "{\"response\":[{\"Event\":{\"info\":\"Fraud \\u00e9vent\",\"threat_level_id\":\"3\","
        "\"Tag\":[{\"name\":\"TLP:WHITE\"},{\"name\":\"infohub:category=\\\"fraud\\\"\"},{\"name\":\"bec\"}],"
        "\"Attribute\":[{\"type\":\"ip-dst|port\",\"value\":\"45.33.32.156|8443\",\"to_ids\":true},"
        "{\"type\":\"domain|ip\",\"value\":\"pay-portal.top|2a03:2880::1\",\"to_ids\":false,\"comment\":\"x\"},"
        "{\"type\":\"link\",\"value\":\"https://ref.example.net/b\"},"
        "{\"type\":\"text\",\"value\":\"The summary\",\"comment\":\"summary\"},"
        "{\"type\":\"regkey\",\"value\":\"HKLM\\\\x\"},"
        "{\"type\":\"md5\",\"value\":\"0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e\",\"deleted\":true},"
        "{\"type\":\"filename|sha1\",\"value\":\"a.exe|DA39A3EE5E6B4B0D3255BFEF95601890AFD80709\"}],"
        "\"Object\":[{\"Attribute\":[{\"type\":\"email-src\",\"value\":\"ceo@pay-portal.top\"}]}]}}]}";
    g.o.tlp = -1;
    if (ih_import_t_run (&g, IH_IMPORT_MISP, misp) != 0)
        fprintf (stderr, "%s\n", g.err.msg);
    IH_CHECK (g.n == 1);
    ih_msg_t *m = &g.msgs [0];
    IH_CHECK (m->tlp == IH_TLP_CLEAR && m->category == IH_CAT_FRAUD && m->severity == IH_SEV_LOW);
    IH_CHECK (streq (m->title, "Fraud \xc3\xa9vent") && streq (m->summary, "The summary"));
    IH_CHECK (m->tags.count == 1 && streq (m->tags.items [0], "bec") && m->references.count == 1);
    IH_CHECK (m->ioc_count == 6);
    IH_CHECK (ih_import_t_has (m, IH_IOC_IPV4, "45.33.32.156") && streq (m->iocs [0].comment, "port 8443"));
    IH_CHECK (ih_import_t_has (m, IH_IOC_IPV6, "2a03:2880::1") && !m->iocs [2].detect);
    IH_CHECK (ih_import_t_has (m, IH_IOC_FILENAME, "a.exe") && ih_import_t_has (m, IH_IOC_EMAIL, "ceo@pay-portal.top"));
    IH_CHECK (ih_import_t_skipped (&g.rep, "MISP attribute type regkey") == 1 && ih_import_t_skipped (&g.rep, "deleted MISP attribute") == 1);
    ih_import_t_reset (&g);
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_MISP, "{\"x\":1}") == -1 && strstr (g.err.msg, "no Event"));

    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_MISP, "{\"Event\":") == -1);
    IH_CHECK (strstr (g.err.msg, "misp: not JSON"));
    //  One bare event, its threat level where no tag says otherwise, and a TLP the option gives.
    g.o.tlp = IH_TLP_RED;
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_MISP, "{\"Event\":{\"info\":\"One\",\"threat_level_id\":\"1\","
                               "\"Attribute\":[{\"type\":\"hostname\",\"value\":\"evil-cdn.com\",\"to_ids\":\"0\"}]}}") == 0);
    IH_CHECK (g.n == 1 && g.msgs [0].tlp == IH_TLP_RED && g.msgs [0].severity == IH_SEV_HIGH);
    IH_CHECK (ih_import_t_has (&g.msgs [0], IH_IOC_DOMAIN, "evil-cdn.com") && !g.msgs [0].iocs [0].detect);
    ih_import_t_reset (&g);

    //  AUDIENCE: distribution 0 (your organisation only) and sharing groups narrow to
    //  RED for the importing org; Infohub's own events (infohub: tags) say their audience
    //  in tags, distribution 0 notwithstanding; an attribute shared more narrowly than
    //  its event stays out. ATTRIBUTION: infohub:publisher, else Orgc.
    const char *dist =
        "[{\"Event\":{\"uuid\":\"5f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a51\",\"info\":\"Org only\",\"distribution\":\"0\","
        "\"Orgc\":{\"name\":\"CIRCL\"},\"Tag\":[{\"name\":\"tlp:green\"}],"
        "\"Attribute\":[{\"type\":\"domain\",\"value\":\"evil-o.xyz\",\"distribution\":\"0\"}]}},"
        "{\"Event\":{\"info\":\"Group\",\"distribution\":4,\"Tag\":[{\"name\":\"tlp:amber\"}],"
        "\"Attribute\":[{\"type\":\"domain\",\"value\":\"evil-g.xyz\"}]}},"
        "{\"Event\":{\"info\":\"Group id\",\"distribution\":\"1\",\"sharing_group_id\":\"7\","
        "\"Tag\":[{\"name\":\"tlp:clear\"}],\"Attribute\":[{\"type\":\"domain\",\"value\":\"evil-i.xyz\"}]}},"
        "{\"Event\":{\"info\":\"Ours\",\"distribution\":\"0\",\"Orgc\":{\"name\":\"someone\"},"
        "\"Tag\":[{\"name\":\"tlp:amber\"},{\"name\":\"infohub:recipient=\\\"sector:telecom\\\"\"},"
        "{\"name\":\"infohub:recipient=\\\"bank-x\\\"\"},{\"name\":\"infohub:publisher=\\\"bank-a\\\"\"}],"
        "\"Attribute\":[{\"type\":\"domain\",\"value\":\"evil-u.xyz\",\"distribution\":\"5\"}]}},"
        "{\"Event\":{\"info\":\"Community\",\"distribution\":\"1\",\"Tag\":[{\"name\":\"tlp:green\"}],"
        "\"Attribute\":[{\"type\":\"domain\",\"value\":\"evil-c.xyz\"},"
        "{\"type\":\"domain\",\"value\":\"evil-n.xyz\",\"distribution\":\"0\"}]}}]";
    g.o.org = "bank-b";
    g.o.tlp = -1;
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_MISP, dist) == 0 && g.n == 5);
    for (int k = 0; k < 3; k++)
        IH_CHECK (g.msgs [k].tlp == IH_TLP_RED && g.msgs [k].recipients.count == 0);
    IH_CHECK (ih_import_t_has (&g.msgs [0], IH_IOC_DOMAIN, "evil-o.xyz"));
    IH_CHECK (g.rep.narrowed == 3 && strstr (g.notes, "Org only: narrowed to TLP:RED for bank-b alone: MISP"
                                             " distribution 0 (your organisation only)\n"));
    IH_CHECK (strstr (g.notes, "Group: narrowed to TLP:RED for bank-b alone: MISP sharing group\n"));
    IH_CHECK (strstr (g.notes, "Group id: narrowed to TLP:RED for bank-b alone: MISP sharing group\n"));
    IH_CHECK (ih_strlist_has (&g.msgs [0].tags, "source:CIRCL"));
    m = &g.msgs [3];
    IH_CHECK (m->tlp == IH_TLP_AMBER && m->recipients.count == 2 && ih_strlist_has (&m->recipients, "bank-x"));
    IH_CHECK (m->tags.count == 1 && streq (m->tags.items [0], "source:bank-a"));
    m = &g.msgs [4];
    IH_CHECK (m->tlp == IH_TLP_GREEN && m->ioc_count == 1 && ih_import_t_has (m, IH_IOC_DOMAIN, "evil-c.xyz"));
    IH_CHECK (ih_import_t_skipped (&g.rep, "MISP attribute shared more narrowly than its event") == 1);
    //  IDS: the event's uuid; without one, the event's content.
    char want [IH_UUID_LEN + 1];
    ih_stix_uuid5 ("import|bank-b|misp|5f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a51", 55, want);
    IH_CHECK (streq (g.msgs [0].id, want) && ih_uuid_valid (g.msgs [1].id));
    ih_import_t_reset (&g);

    //  A MISP feed: the events its manifest lists, what is amiss counted; its manifest
    //  given as a file is told to be one.
    ih_msg_t src;
    ih_tk_alert (&src, NULL, IH_TLP_GREEN, "Feed one");
    static const char *vals [] = { "domain:evil-login.xyz", "ipv4:45.33.32.156", NULL };
    ih_tk_iocs (&src, vals, true);
    char base [256], dir [300], path [400];
    ih_tk_tempdir ("import-feed", base, sizeof base);
    snprintf (dir, sizeof dir, "%s/feed", base);
    ih_err_t err = { "" };
    ih_export_t *x = ih_export_new (IH_EXPORT_MISP_FEED, NULL, NULL, NULL, dir, &err);
    IH_CHECK (x && ih_export_alert (x, &src, NULL, &err) == 0 && ih_export_finish (x, &err) == 0);
    ih_export_destroy (&x);
    IH_CHECK (ih_import_t_run_feed (&g, dir) == 0 && g.n == 1);
    IH_CHECK (streq (g.msgs [0].title, "Feed one") && g.msgs [0].ioc_count == 2 && g.msgs [0].tlp == IH_TLP_GREEN);
    ih_buf_t name;
    ih_buf_init (&name);
    ih_buf_printf (&name, "import|bank-b|misp|%s", src.id);
    ih_stix_uuid5 ((const char *) name.data, name.len, want);
    IH_CHECK (streq (g.msgs [0].id, want));
    ih_buf_free (&name);
    ih_import_t_reset (&g);
    //  Listed but missing, not JSON, a key that is no uuid (never a path); unlisted files
    //  are not read.
    FILE *f = fopen (ih_tk_path (path, sizeof path, dir, "manifest.json"), "w");
    IH_CHECK (f);
    fprintf (f, "{\"%s\":{\"info\":\"x\"},\"00000000-0000-4000-8000-000000000001\":{},"
             "\"00000000-0000-4000-8000-000000000002\":{},\"../manifest\":{}}", src.id);
    IH_CHECK (fclose (f) == 0);
    f = fopen (ih_tk_path (path, sizeof path, dir, "00000000-0000-4000-8000-000000000002.json"), "w");
    IH_CHECK (f && fputs ("{\"Event\":", f) >= 0 && fclose (f) == 0);
    f = fopen (ih_tk_path (path, sizeof path, dir, "00000000-0000-4000-8000-000000000003.json"), "w");
    IH_CHECK (f && fputs ("{\"Event\":{\"info\":\"unlisted\"}}", f) >= 0 && fclose (f) == 0);
    IH_CHECK (ih_import_t_run_feed (&g, dir) == 0 && g.n == 1);
    IH_CHECK (ih_import_t_skipped (&g.rep, "feed event without its file") == 1);
    IH_CHECK (ih_import_t_skipped (&g.rep, "feed event file that is not JSON") == 1);
    IH_CHECK (ih_import_t_skipped (&g.rep, "feed manifest key that is no event uuid") == 1);
    ih_import_t_reset (&g);
    size_t len = 0;
    char *manifest = ih_file_read (ih_tk_path (path, sizeof path, dir, "manifest.json"), 1 << 20, &len, &err);
    IH_CHECK (manifest && ih_import_t_run (&g, IH_IMPORT_MISP, manifest) == -1);
    IH_CHECK (strstr (g.err.msg, "this is a MISP feed manifest: import the directory"));
    free (manifest);
    IH_CHECK (ih_import_t_run_feed (&g, base) == -1 && strstr (g.err.msg, "is no MISP feed"));
    if (verbose)
        printf ("\n    %s", g.err.msg);
    ih_tk_rmtree (base);
    ih_msg_free (&src);
    g.o.org = NULL;

    //  import (export (x)) keeps every IOC and the TLP.
    ih_import_t_round_trip (IH_EXPORT_MISP, IH_IMPORT_MISP);
    if (verbose)
        printf ("\n    ");
}
#endif
