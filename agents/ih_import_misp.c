/*  ih_import_misp.c: MISP events into alert drafts (ih_import.h documents what is read):
    one alert per event, from its tags, threat level, attributes and object attributes.
*/
#include <czmq.h>

#include "ih_import_priv.h"

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
        if (strncmp (name, "infohub:", 8) == 0) {
            char key [32], value [IH_MAX_SHORT + 1];
            const char *eq = strchr (name, '=');
            size_t kl = eq ? (size_t) (eq - name - 8) : 0;
            size_t vl = eq ? strlen (eq + 1) : 0;
            if (eq && kl < sizeof key && vl >= 2 && vl - 2 < sizeof value && eq [1] == '"' && eq [vl] == '"') {
                memcpy (key, name + 8, kl);
                key [kl] = 0;
                memcpy (value, eq + 2, vl - 2);
                value [vl - 2] = 0;
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
                    ih_import_draft_tag (job, d, name);
                continue;
            }
        }
        ih_import_draft_tag (job, d, name);
    }
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
    ih_import_draft_t d;
    ih_import_draft_init (job, &d, info ? info : job->opts->title);
    s_misp_tags (job, &d, json_object_get (ev, "Tag"));
    //  threat_level_id applies when no infohub:severity tag said otherwise.
    const char *tl = json_string_value (json_object_get (ev, "threat_level_id"));
    bool sev_tagged = false;
    size_t i;
    json_t *x;
    json_array_foreach (json_object_get (ev, "Tag"), i, x) {
        const char *n = json_string_value (json_object_get (x, "name"));
        if (n && strncmp (n, "infohub:severity=", 17) == 0)
            sev_tagged = true;
    }
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

int
ih_import_read_misp (ih_import_job_t *job, const char *data, size_t len)
{
    json_t *doc = ih_import_json (job, data, len);
    if (!doc)
        return -1;
    json_t *list = json_object_get (doc, "response");
    if (!list)
        list = doc;
    int rc = 0;
    size_t events = 0;
    if (json_is_object (list) && json_object_get (list, "Event")) {
        rc = s_misp_event (job, json_object_get (list, "Event"));
        events++;
    }
    else
    if (json_is_array (list)) {
        size_t i;
        json_t *e;
        json_array_foreach (list, i, e) {
            json_t *ev = json_object_get (e, "Event");
            if (!ev) {
                ih_import_skip (job, "array entry without an Event");
                continue;
            }
            events++;
            if ((rc = s_misp_event (job, ev)) != 0)
                break;
        }
    }
    json_decref (doc);
    if (rc == 0 && events == 0)
        return ih_err_set (job->err, "misp: no Event in the input (expected {\"Event\": …} or "
                           "{\"response\": [{\"Event\": …}]})");
    return rc;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

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

    //  import (export (x)) keeps every IOC and the TLP.
    ih_import_t_round_trip (IH_EXPORT_MISP, IH_IMPORT_MISP);
    if (verbose)
        printf ("\n    ");
}
#endif
