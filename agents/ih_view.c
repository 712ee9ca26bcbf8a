/*  ih_view.c: a stored alert as JSON, with what the store knows about it (ih_view.h). */
#include <string.h>
#include <unistd.h>

#include "ih_view.h"
#include "ih_json.h"


static ih_json_meta_t
s_meta (const ih_store_alert_t *info)
{
    ih_json_meta_t meta;
    memset (&meta, 0, sizeof meta);
    meta.seq = info->seq;
    meta.retracted = info->retracted;
    meta.revisions = info->revisions;
    meta.sightings = info->sightings > UINT32_MAX ? UINT32_MAX : (uint32_t) info->sightings;
    return meta;
}

typedef struct {
    json_t *arr;
} s_refs_t;

static int
s_ref_one (uint64_t seq, const ih_msg_t *msg, void *arg)
{
    s_refs_t *r = (s_refs_t *) arg;
    ih_json_meta_t meta;
    memset (&meta, 0, sizeof meta);
    meta.seq = seq;
    json_array_append_new (r->arr, ih_msg_to_json (msg, &meta));
    return 0;
}

static void
s_add_refs (json_t *o, ih_store_t *store, const char *id, ih_kind_t kind, const char *key)
{
    s_refs_t r = { json_array () };
    if (ih_store_refs_foreach (store, id, kind, s_ref_one, &r, NULL) == 0
    &&  json_array_size (r.arr) > 0)
        json_object_set_new (o, key, r.arr);
    else
        json_decref (r.arr);
}

json_t *
ih_view_alert (ih_store_t *store, const ih_msg_t *m, const ih_store_alert_t *info, unsigned flags)
{
    ih_json_meta_t meta = s_meta (info);
    bool *flagged = NULL;
    if (m->ioc_count && (info->retracted || info->retracted_iocs)) {
        flagged = (bool *) calloc (m->ioc_count, sizeof *flagged);
        if (!flagged)
            abort ();
        for (uint32_t i = 0; i < m->ioc_count; i++)
            flagged [i] = ih_store_ioc_retracted (info, &m->iocs [i]);
        meta.ioc_retracted = flagged;
    }
    json_t *o = ih_msg_to_json (m, &meta);
    free (flagged);
    if (!(flags & IH_VIEW_DETAILS))
        return o;
    if (info->retracted || info->retracted_iocs || info->retract_seq)
        s_add_refs (o, store, m->id, IH_KIND_RETRACTION, "retractions");
    if (info->comments)
        s_add_refs (o, store, m->id, IH_KIND_COMMENT, "comments");
    json_t *seen = json_array ();
    for (uint32_t i = 0; i < m->ioc_count; i++) {
        uint64_t count = 0;
        uint32_t reports = 0;
        const ih_ioc_t *ioc = &m->iocs [i];
        if (ih_store_sightings (store, ioc->type, ioc->value, &count, &reports, NULL) != 0 || !count)
            continue;
        json_array_append_new (seen, json_pack ("{s:s, s:s, s:I, s:I}",
                               "type", ih_ioc_type_name (ioc->type), "value", ioc->value,
                               "count", (json_int_t) count, "reports", (json_int_t) reports));
    }
    if (json_array_size (seen))
        json_object_set_new (o, "ioc_sightings", seen);
    else
        json_decref (seen);
    return o;
}

int
ih_view_get (ih_store_t *store, const char *id, unsigned flags, json_t **out, ih_err_t *err)
{
    *out = NULL;
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_store_alert_t info;
    int found = ih_store_get (store, id, &m, &info, err);
    if (found == 1)
        *out = ih_view_alert (store, &m, &info, flags);
    ih_msg_free (&m);
    return found;
}

void
ih_view_strip (json_t *o)
{
    json_object_del (o, "retractions");
    json_object_del (o, "comments");
    json_object_del (o, "ioc_sightings");
}

/* ---- self-test ------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

static void
s_t_msg (ih_msg_t *m, ih_kind_t kind, const char *id)
{
    ih_msg_init (m, kind);
    if (id)
        snprintf (m->id, sizeof m->id, "%s", id);
    else
        ih_uuid_new (m->id);
    if (kind != IH_KIND_ALERT)
        m->revision = 0;
    m->created = m->modified = 1767225600000;
    m->org = ih_msg_str (m, "bank-a");
    m->member = ih_msg_str (m, "soc");
    m->signer [0] = 9;
}

void
ih_view_test (bool verbose)
{
    char base [] = "/tmp/ih-view-test-XXXXXX";
    IH_CHECK (mkdtemp (base));
    char dir [256];
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (s);

    const char *id = "aaaaaaaa-1111-4111-8111-000000000001";
    ih_msg_t msgs [5];
    s_t_msg (&msgs [0], IH_KIND_ALERT, id);
    msgs [0].title = ih_msg_str (&msgs [0], "view me");
    msgs [0].tlp = IH_TLP_AMBER;
    ih_msg_ioc_add (&msgs [0], IH_IOC_IPV4, "192.0.2.1", "c2", true);
    ih_msg_ioc_add (&msgs [0], IH_IOC_DOMAIN, "evil.example", "", true);
    s_t_msg (&msgs [1], IH_KIND_RETRACTION, NULL);
    snprintf (msgs [1].ref, sizeof msgs [1].ref, "%s", id);
    msgs [1].text = ih_msg_str (&msgs [1], "false positive");
    ih_msg_ioc_add (&msgs [1], IH_IOC_DOMAIN, "evil.example", "", false);
    s_t_msg (&msgs [2], IH_KIND_COMMENT, NULL);
    snprintf (msgs [2].ref, sizeof msgs [2].ref, "%s", id);
    msgs [2].text = ih_msg_str (&msgs [2], "seen it too");
    s_t_msg (&msgs [3], IH_KIND_SIGHTING, NULL);
    msgs [3].tlp = IH_TLP_GREEN;
    msgs [3].count = 4;
    ih_msg_ioc_add (&msgs [3], IH_IOC_IPV4, "192.0.2.1", "", false);
    s_t_msg (&msgs [4], IH_KIND_SIGHTING, NULL);
    snprintf (msgs [4].ref, sizeof msgs [4].ref, "%s", id);
    msgs [4].tlp = IH_TLP_GREEN;
    msgs [4].count = 1;
    ih_msg_ioc_add (&msgs [4], IH_IOC_IPV4, "192.0.2.1", "", false);
    uint64_t seqs [5] = { 3, 5, 8, 9, 12 };
    IH_CHECK (ih_store_ingest_msgs (s, msgs, seqs, 1, NULL, &err) == 0);

    //  Fresh: the plain alert, no detail keys, and it reads back as an alert.
    json_t *o = NULL;
    IH_CHECK (ih_view_get (s, id, IH_VIEW_DETAILS, &o, &err) == 1);
    IH_CHECK (json_integer_value (json_object_get (o, "seq")) == 3);
    IH_CHECK (streq (json_string_value (json_object_get (o, "status")), "active"));
    IH_CHECK (!json_object_get (o, "comments") && !json_object_get (o, "retractions"));
    IH_CHECK (!json_object_get (o, "ioc_sightings") && !json_object_get (o, "sightings"));
    ih_msg_t back;
    IH_CHECK (ih_msg_from_json (&back, o, NULL, &err) == 0);
    ih_msg_free (&back);
    json_decref (o);

    //  Retraction of one IOC, a comment, two sightings.
    IH_CHECK (ih_store_ingest_msgs (s, msgs + 1, seqs + 1, 4, NULL, &err) == 0);
    IH_CHECK (ih_view_get (s, id, IH_VIEW_DETAILS, &o, &err) == 1);
    if (verbose) {
        char *text = json_dumps (o, JSON_COMPACT);
        printf ("\n    %s\n    ", text);
        free (text);
    }
    json_t *iocs = json_object_get (o, "iocs");
    IH_CHECK (json_array_size (iocs) == 2);
    IH_CHECK (!json_object_get (json_array_get (iocs, 0), "retracted"));
    IH_CHECK (json_is_true (json_object_get (json_array_get (iocs, 1), "retracted")));
    IH_CHECK (json_integer_value (json_object_get (o, "sightings")) == 1);   //  citing it
    json_t *r = json_object_get (o, "retractions");
    IH_CHECK (json_array_size (r) == 1);
    IH_CHECK (json_integer_value (json_object_get (json_array_get (r, 0), "seq")) == 5);
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (r, 0), "text")), "false positive"));
    json_t *c = json_object_get (o, "comments");
    IH_CHECK (json_array_size (c) == 1);
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (c, 0), "text")), "seen it too"));
    json_t *seen = json_object_get (o, "ioc_sightings");
    IH_CHECK (json_array_size (seen) == 1);
    IH_CHECK (json_integer_value (json_object_get (json_array_get (seen, 0), "count")) == 5);
    IH_CHECK (json_integer_value (json_object_get (json_array_get (seen, 0), "reports")) == 2);
    //  Stripped, it reads back as the alert, retracted flag included.
    ih_view_strip (o);
    ih_json_meta_t meta;
    IH_CHECK (ih_msg_from_json (&back, o, &meta, &err) == 0);
    IH_CHECK (meta.ioc_retracted && !meta.ioc_retracted [0] && meta.ioc_retracted [1]);
    ih_msg_free (&back);
    json_decref (o);

    //  Without details: no detail keys even now.
    IH_CHECK (ih_view_get (s, id, 0, &o, &err) == 1);
    IH_CHECK (!json_object_get (o, "comments") && json_object_get (o, "iocs"));
    json_decref (o);

    //  The whole alert retracted: every IOC is marked, status says so.
    ih_msg_t whole;
    s_t_msg (&whole, IH_KIND_RETRACTION, NULL);
    snprintf (whole.ref, sizeof whole.ref, "%s", id);
    uint64_t wseq = 20;
    IH_CHECK (ih_store_ingest_msgs (s, &whole, &wseq, 1, NULL, &err) == 0);
    IH_CHECK (ih_view_get (s, id, IH_VIEW_DETAILS, &o, &err) == 1);
    IH_CHECK (streq (json_string_value (json_object_get (o, "status")), "retracted"));
    iocs = json_object_get (o, "iocs");
    IH_CHECK (json_is_true (json_object_get (json_array_get (iocs, 0), "retracted")));
    IH_CHECK (json_array_size (json_object_get (o, "retractions")) == 2);
    json_decref (o);
    IH_CHECK (ih_view_get (s, "bbbbbbbb-1111-4111-8111-000000000001", 0, &o, &err) == 0 && !o);

    ih_msg_free (&whole);
    for (int i = 0; i < 5; i++)
        ih_msg_free (&msgs [i]);
    ih_store_destroy (&s);
    const char *files [] = { "data.mdb", "lock.mdb", "agent.lock", NULL };
    for (int i = 0; files [i]; i++) {
        char path [512];
        snprintf (path, sizeof path, "%s/%s", dir, files [i]);
        unlink (path);
    }
    rmdir (dir);
    rmdir (base);
}
#endif
